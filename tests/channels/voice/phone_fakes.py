"""Local stand-ins for the voice tests: Twilio's REST API (checking auth as Twilio does), a Rasa that
answers with links when asked to, and the agent pool as the handoff contract describes it."""
from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from conversations.handoff import HandoffDesk, HandoffOutcome, Handoffs
from conversations.lifecycle import transition
from conversations.models import Conversation, ConversationStatus
from core.services import services_of
from fakes.rasa import FakeRasa, ThreadServer
from server.stack import free_port

ACCOUNT_SID = "AC" + "0f" * 16
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC_BASE = "https://hotline.example.gov.cn"


@dataclass
class FakeTwilio(ThreadServer):
    """Twilio's REST API: Messages and Call updates, HTTP Basic auth with the account SID and token."""

    port: int = field(default_factory=free_port)
    messages: list[dict] = field(default_factory=list)
    call_updates: list[dict] = field(default_factory=list)
    refused: int = 0
    _ids: itertools.count = field(default_factory=itertools.count)

    def routes(self) -> list[Route]:
        base = "/2010-04-01/Accounts/{account}"
        return [
            Route(base + "/Messages.json", self._message, methods=["POST"]),
            Route(base + "/Calls/{call}.json", self._call, methods=["POST"]),
        ]

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return header == expected and request.path_params["account"] == ACCOUNT_SID

    def _unauthorised(self) -> JSONResponse:
        self.refused += 1
        body = {"code": 20003, "message": "Authenticate", "more_info": "", "status": 401}
        return JSONResponse(body, status_code=401)

    async def _message(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._unauthorised()
        form = dict(await request.form())
        if not form.get("To") or not form.get("Body") or not form.get("From"):
            return JSONResponse({"code": 21604, "message": "A 'To' phone number is required.", "status": 400}, 400)
        sid = f"SM{next(self._ids):032d}"
        self.messages.append(form)
        return JSONResponse(
            {"sid": sid, "account_sid": ACCOUNT_SID, "to": form["To"], "from": form["From"], "body": form["Body"],
             "status": "queued", "direction": "outbound-api"},
            status_code=201,
        )

    async def _call(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return self._unauthorised()
        form = dict(await request.form())
        self.call_updates.append({"call_sid": request.path_params["call"], **form})
        return JSONResponse({"sid": request.path_params["call"], "account_sid": ACCOUNT_SID, "status": "in-progress"})


@dataclass
class ScriptedRasa(FakeRasa):
    """FakeRasa that answers some questions with a custom reply (links, Markdown, numbers)."""

    scripted: dict[str, dict] = field(default_factory=dict)

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body["message"] not in self.scripted:
            self.received.append(body)
            return JSONResponse([{"recipient_id": body["sender"], "text": f"收到：{body['message']}"}])
        self.received.append(body)
        return JSONResponse([{"recipient_id": body["sender"], "custom": self.scripted[body["message"]]}])


@dataclass
class ContractPool:
    """The agent pool as the handoff contract describes `request_handoff`: "queued" moves the
    conversation to waiting; "callback" creates a ticket and leaves it with the bot."""

    sessions: async_sessionmaker[AsyncSession]
    on_duty: bool = True
    requests: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)

    async def request_handoff(self, *, conversation_id, reason, intent=None, slots=None, contact=None):
        self.requests.append({"conversation_id": conversation_id, "reason": reason, "contact": contact})
        async with self.sessions() as session:
            status = await session.scalar(select(Conversation.status).where(Conversation.id == conversation_id))
            if status == ConversationStatus.WAITING:
                return HandoffOutcome("already_waiting", 1, 60, None, "您已在排队，请稍候。")
            if not self.on_duty:
                self.tickets.append({"conversation_id": conversation_id, "contact": contact})
                return HandoffOutcome(
                    "callback", None, None, len(self.tickets),
                    "目前没有人工客服在线，已为您登记回拨，工作时间9:00-17:00会尽快联系您。",
                )
            await transition(session, conversation_id, ConversationStatus.WAITING)
            await session.commit()
        return HandoffOutcome("queued", 3, 180, None, "已为您转接人工客服，您前面还有2位，预计等待3分钟。")


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


class TwilioCaller:
    """Drives the webhooks the way Twilio does: form-encoded POSTs signed over the public URL."""

    def __init__(self, client, call_sid: str = "CA" + "1" * 32, caller: str = "+8613812345678") -> None:
        self.client = client
        self.call_sid = call_sid
        self.caller = caller
        self.last = None

    def base_params(self) -> dict[str, str]:
        return {
            "CallSid": self.call_sid, "AccountSid": ACCOUNT_SID, "From": self.caller, "To": "+863108888888",
            "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01",
        }

    def post(self, url: str, extra: dict[str, str] | None = None, *, token: str = AUTH_TOKEN, signed_url: str | None = None):
        """POST to an absolute public URL (as found in TwiML); the path and query go to the test client."""
        params = self.base_params() | (extra or {})
        signature = sign(signed_url or url, params, token)
        path = url.removeprefix(PUBLIC_BASE)
        response = self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        self.last = response
        return response

    def call(self, path: str, extra: dict[str, str] | None = None, **kw):
        return self.post(PUBLIC_BASE + path, extra, **kw)


@contextmanager
def desk(app_client, handler: HandoffDesk | None) -> Iterator[None]:
    """`handler` serves the service's requests for a person for a while (None: no agent side)."""
    handoffs = services_of(app_client.app).get(Handoffs)
    original = handoffs.desk
    handoffs.register_desk(handler)
    try:
        yield
    finally:
        handoffs.register_desk(original)


@contextmanager
def fake_pool(app_client) -> Iterator[ContractPool]:
    """A fake agent pool serving `app_client`'s requests for a person while the block runs."""
    fake = ContractPool(services_of(app_client.app).get(async_sessionmaker))
    with desk(app_client, fake.request_handoff):
        yield fake
