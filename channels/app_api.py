"""The app channel: the centre's mobile app sends a citizen's message and reads later pushes.

Nobody speaks for a citizen without a credential. Two kinds are accepted:
- the app's own backend, which has logged the citizen in, sends `X-Api-Key` (APP_API_KEY) and names
  the citizen's `user_id`, or asks `POST /session` for a citizen token for that id;
- the app on the phone sends `Authorization: Bearer <citizen token>`; the token names the citizen,
  and a `user_id` that differs from it is refused. Without a key, `POST /session` gives a new
  anonymous citizen and its token (as the web page does).
"""
from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from conversations import buttons
from conversations.deps import HubDep
from conversations.events import AgentTyping, CitizenTyping, NewMessage
from conversations.hub import conversation_topic
from conversations.inbound import CitizenKey, Inbound
from conversations.models import Channel, Message
from conversations.schemas import MessageOut
from conversations.text import clean_text
from core.bus import Resync
from core.deps import BusDep, SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.events import Event
from core.limits import RATE_LIMITED, LimiterDep, by_address, client_address
from core.settings import Settings
from core.signing import sign, unsign

router = APIRouter(prefix="/api/v1/app", tags=["app"])

USER_ID = r"^[A-Za-z0-9_.:@-]{1,64}$"
MAX_WAIT_S = 30
PAGE = 200  # messages in one answer to GET /messages; `more` says another page follows
TOKEN_PURPOSE = "app-citizen"


class AppCredential(BaseModel):
    """Who may speak: the app's backend (any citizen it names) or one citizen's token."""

    user_id: str | None  # the token's citizen; None for the backend


def _credential(
    settings: Settings, x_api_key: str | None, authorization: str | None
) -> AppCredential | None:
    expected = settings.app_api_key.get_secret_value()
    if x_api_key is not None:
        if not expected or not hmac.compare_digest(x_api_key, expected):
            raise ApiError(401, "invalid_api_key", "应用接口密钥无效。")
        return AppCredential(user_id=None)
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token:
        user = unsign(settings.session_secret.get_secret_value(), TOKEN_PURPOSE, token.strip())
        if user is None:
            raise ApiError(401, "invalid_token", "登录凭证无效或已失效，请重新登录应用。")
        return AppCredential(user_id=user)
    return None


def app_credential(
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header(max_length=256)] = None,
    authorization: Annotated[str | None, Header(max_length=512)] = None,
) -> AppCredential:
    credential = _credential(settings, x_api_key, authorization)
    if credential is None:
        raise ApiError(401, "app_unauthorized", "请先登录应用后再咨询。")
    return credential


CredentialDep = Annotated[AppCredential, Depends(app_credential)]
# What speaking for a citizen can be refused with (app_credential, then citizen_of).
CITIZEN_ERRORS = {
    401: ("invalid_api_key", "invalid_token", "app_unauthorized"), 403: ("user_mismatch",),
    422: ("user_id_required",),
}


def citizen_of(credential: AppCredential, user_id: str | None) -> str:
    """The citizen a request speaks for: the token's, or the one the backend names."""
    if credential.user_id is None:  # the backend speaks for the citizen it names
        if not user_id:
            raise ApiError(422, "user_id_required", "请提供用户标识（user_id）。")
        return user_id
    if user_id and user_id != credential.user_id:
        raise ApiError(403, "user_mismatch", "无权查看或代替其他用户发送消息。")
    return credential.user_id


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: str | None = Field(None, pattern=USER_ID, description="backend only: the logged-in citizen's id")


class SessionOut(BaseModel):
    user_id: str
    token: str = Field(description="send as `Authorization: Bearer <token>`")


class AppMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: str | None = Field(
        None, pattern=USER_ID, description="the app's stable id of the citizen (backend calls; a token names it)"
    )
    text: str = Field(max_length=20000)
    client_msg_id: str | None = Field(None, max_length=128, description="retries with the same id are stored once")


class ReplyOut(BaseModel):
    text: str
    buttons: list[dict]
    links: list[dict]
    sources: list[dict]
    buttons_valid: bool | None = Field(None, description="with buttons: whether they are still the choices in "
                                       "play (only the turn's last message with buttons is); null without buttons")
    media: list[dict] = Field(default_factory=list, description='the answered article\'s pictures and videos: '
                              '{"kind": "image|diagram|video", "url", "caption", "content_type"}; show the caption '
                              'with each (it is also the text alternative)')


class AppMessageOut(BaseModel):
    conversation_id: str
    message_id: int
    replies: list[ReplyOut]


class PushesOut(BaseModel):
    conversation_id: str
    messages: list[MessageOut] = Field(description="a message with buttons has `buttons_valid` in its payload: "
                                       "false once one of them was chosen or a newer message brought buttons")
    more: bool = Field(False, description="more messages follow these: ask again at once with the last id as "
                       "`after` (a page holds 200, oldest first)")
    agent_typing: str | None = Field(None, description="the agent's display name while they type a reply "
                                     "(a long poll returns early for it, with no messages): show 正在输入")


class TypingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: str | None = Field(None, pattern=USER_ID, description="as for messages (backend calls)")


class TypingOut(BaseModel):
    ok: bool = True


def to_inbound(body: AppMessageIn, user: str) -> Inbound:
    """The app's JSON body → the one inbound message; `user` is the citizen the credential speaks for."""
    text = clean_text(body.text)
    return Inbound(channel=Channel.APP, citizen=CitizenKey("app", user), text=text, client_msg_id=body.client_msg_id)


@router.post("/session", response_model=SessionOut, dependencies=[Depends(by_address("app_session", "session"))],
             responses=error_responses(INVALID_REQUEST, {401: ("invalid_api_key", "app_unauthorized")}, RATE_LIMITED))
async def open_session(
    body: SessionIn,
    settings: SettingsDep,
    x_api_key: Annotated[str | None, Header(max_length=256)] = None,
) -> SessionOut:
    """A citizen token: for the citizen the app's backend names (with `X-Api-Key`), or, without a key,
    for a new anonymous citizen."""
    credential = _credential(settings, x_api_key, None)
    if body.user_id is not None and credential is None:
        raise ApiError(401, "app_unauthorized", "只有应用后台可以为指定用户签发凭证。")
    user = body.user_id or f"anon-{uuid.uuid4().hex}"
    return SessionOut(user_id=user, token=sign(settings.session_secret.get_secret_value(), TOKEN_PURPOSE, user))


@router.post("/messages", response_model=AppMessageOut, responses=error_responses(
    INVALID_REQUEST, CITIZEN_ERRORS, {422: ("empty_message", "message_too_long")}, RATE_LIMITED
))
async def post_message(
    body: AppMessageIn, hub: HubDep, credential: CredentialDep, limiter: LimiterDep, request: Request,
) -> AppMessageOut:
    user = citizen_of(credential, body.user_id)
    # Refused before anything is stored: the app shows the 429 and the citizen sends again later.
    await limiter.check("citizen", "app_messages", user)
    if credential.user_id is not None:
        # The app's backend speaks for all its users from few addresses; a phone only for itself.
        await limiter.check("address", "app_messages", client_address(request))
    inbound = to_inbound(body, user)
    conversation = await hub.conversation_for(inbound)
    turn = await hub.receive(conversation, inbound)
    with_buttons = [i for i, reply in enumerate(turn.replies) if reply.buttons]
    return AppMessageOut(
        conversation_id=turn.conversation_id,
        message_id=turn.message.id,
        # A newer message's buttons supersede an older one's, in one turn as across turns.
        replies=[ReplyOut(**reply.to_api(), buttons_valid=(i == with_buttons[-1]) if reply.buttons else None)
                 for i, reply in enumerate(turn.replies)],
    )


@router.get("/messages", response_model=PushesOut, responses=error_responses(INVALID_REQUEST, CITIZEN_ERRORS))
async def get_messages(
    hub: HubDep,
    bus: BusDep,
    credential: CredentialDep,
    user_id: Annotated[str | None, Query(pattern=USER_ID)] = None,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    wait: Annotated[int, Query(ge=0, le=MAX_WAIT_S, description="long-poll seconds")] = 0,
) -> PushesOut:
    """Messages after `after` (bot, agent and system messages the app has not shown yet).
    With `wait`, holds the request until something arrives (long polling)."""
    user = citizen_of(credential, user_id)
    conversation = await hub.open_conversation(channel=Channel.APP, kind="app", value=user)

    def page() -> Awaitable[list[Message]]:
        # One more than a page: whether the app must ask again at once for the rest.
        return hub.since(conversation.id, after, limit=PAGE + 1)

    messages = await page()
    typing: str | None = None
    if not messages and wait:
        async with bus.subscribe(conversation_topic(conversation.id)) as events:
            messages = await page()  # closes the subscribe race
            if not messages:
                try:
                    typing = await asyncio.wait_for(_next_message(events), timeout=wait)
                except asyncio.TimeoutError:
                    pass
                messages = await page()
    more, messages = len(messages) > PAGE, messages[:PAGE]
    valid = buttons.validity(await hub.history(conversation.id)) if messages else {}
    return PushesOut(conversation_id=conversation.id,
                     messages=[buttons.with_validity(m.to_citizen_dict(), valid) for m in messages],
                     more=more, agent_typing=typing if not messages else None)


async def _next_message(events: AsyncIterator[Event]) -> str | None:
    """Waits for a new message (None) or for the agent typing (their display name)."""
    async for event in events:
        if isinstance(event, (NewMessage, Resync)):  # Resync: Redis came back, look again
            return None
        if isinstance(event, AgentTyping):
            return event.agent_name
    return None


@router.post("/typing", response_model=TypingOut, responses=error_responses(INVALID_REQUEST, CITIZEN_ERRORS))
async def citizen_typing(body: TypingIn, hub: HubDep, bus: BusDep, credential: CredentialDep) -> TypingOut:
    """The citizen is typing: the agent serving them sees 正在输入 (nothing is stored; send it at most every
    few seconds while they type)."""
    user = citizen_of(credential, body.user_id)
    conversation = await hub.open_conversation(channel=Channel.APP, kind="app", value=user)
    await bus.publish(conversation_topic(conversation.id), CitizenTyping())
    return TypingOut()
