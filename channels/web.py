"""The web channel: the citizen page at `/` and its WebSocket.

The browser holds a signed visitor token, so a reload or a reconnect continues the same
conversation; messages carry a client id, so a message resent after a reconnect is stored once.
"""
from __future__ import annotations

import asyncio
import html
import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from conversations import buttons
from conversations.deps import HubDep
from conversations.events import AgentTyping, CitizenTyping, NewMessage, StatusChanged, Typing
from conversations.hub import Hub, conversation_topic
from conversations.inbound import CitizenKey, Inbound
from conversations.models import Channel, Conversation, for_citizen
from conversations.text import clean_text
from core.bus import EventBus, Resync
from core.deps import BusDep, SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.events import Event
from core.limits import RATE_LIMITED, RateLimited, RateLimiter, by_address, client_address, limiter_of
from core.pages import page_headers
from core.signing import sign, unsign

log = logging.getLogger(__name__)
router = APIRouter(tags=["web"])
STATIC_DIR = Path(__file__).with_name("static")
# The chat page shows citizens' and the bot's texts: the same page security as the console, and the voice
# button's answer plays from the call's media stream (blob:/data: allowed for a played-back clip).
PAGE_HEADERS = page_headers(media="'self' blob: data:")
TOKEN_PURPOSE = "web-visitor"
MAX_FRAME_BYTES = 64 * 1024
# What the citizen's page hears from the conversation's topic, sent as it travels on the bus.
# Resync: the bus lost and regained Redis; the page reconnects and so reads what it missed.
CITIZEN_FRAMES = (NewMessage, Typing, AgentTyping, StatusChanged, Resync)
# The page says "typing" at most every few seconds while the citizen types; more often is dropped here.
TYPING_EVERY_S = 2.0
RESUME_LIMIT = 1000  # messages replayed to a reconnecting page: more than any outage leaves behind


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visitor_token: str | None = Field(None, max_length=200)


class SessionOut(BaseModel):
    visitor_token: str
    conversation_id: str


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
async def index(settings: SettingsDep) -> HTMLResponse:
    # The page names the hotline; it comes from the one setting, not from the HTML.
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{hotline}}", html.escape(settings.hotline))
    return HTMLResponse(page, headers=PAGE_HEADERS)


@router.post("/api/v1/web/session", response_model=SessionOut,
             dependencies=[Depends(by_address("web_session", "session"))],
             responses=error_responses(INVALID_REQUEST, {401: ("invalid_token",)}, RATE_LIMITED))
async def open_session(body: SessionIn, hub: HubDep, settings: SettingsDep) -> SessionOut:
    secret = settings.session_secret.get_secret_value()
    if body.visitor_token:
        visitor = unsign(secret, TOKEN_PURPOSE, body.visitor_token)
        if visitor is None:
            raise ApiError(401, "invalid_token", "会话凭证无效，请刷新页面重新开始。")
    else:
        visitor = uuid.uuid4().hex
    conversation = await hub.open_conversation(channel=Channel.WEB, kind="web", value=visitor)
    return SessionOut(visitor_token=sign(secret, TOKEN_PURPOSE, visitor), conversation_id=conversation.id)


@router.websocket("/ws/chat")
async def chat_socket(
    websocket: WebSocket, hub: HubDep, bus: BusDep, settings: SettingsDep,
    token: Annotated[str, Query(max_length=200)] = "", after: Annotated[int, Query(ge=0)] = 0,
) -> None:
    visitor = unsign(settings.session_secret.get_secret_value(), TOKEN_PURPOSE, token)
    if visitor is None:
        await websocket.close(code=4401, reason="invalid token")
        return
    conversation = await hub.open_conversation(channel=Channel.WEB, kind="web", value=visitor)
    await websocket.accept()
    async with bus.subscribe(conversation_topic(conversation.id)) as events:
        # A fresh page shows the newest messages; a page reconnecting gets everything it missed, in order.
        missed = hub.since(conversation.id, after, limit=RESUME_LIMIT) if after else hub.history(conversation.id)
        history = await missed
        # Spent buttons come marked (`buttons_valid: false`), so a reloaded page shows them disabled.
        valid = buttons.validity(await hub.history(conversation.id)) if history else {}
        await websocket.send_json({"type": "hello", "conversation_id": conversation.id,
                                   "history": [buttons.with_validity(m.to_citizen_dict(), valid) for m in history]})
        pusher = asyncio.create_task(_push_events(websocket, events))
        try:
            await _read_messages(websocket, hub, conversation, visitor, limiter_of(websocket), bus)
        except WebSocketDisconnect:
            pass
        finally:
            pusher.cancel()


async def _push_events(websocket: WebSocket, events: AsyncIterator[Event]) -> None:
    try:
        async for event in events:
            if isinstance(event, NewMessage):
                await websocket.send_json({**event.to_wire(), "message": for_citizen(event.message)})
            elif isinstance(event, CITIZEN_FRAMES):
                await websocket.send_json(event.to_wire())
    except (WebSocketDisconnect, RuntimeError):
        pass  # the reader notices the closed socket and ends the handler


async def _read_messages(
    websocket: WebSocket, hub: Hub, conversation: Conversation, visitor: str, limiter: RateLimiter,
    bus: EventBus,
) -> None:
    pending: set[asyncio.Task] = set()  # strong references: the loop only keeps weak ones
    address = client_address(websocket)
    typed_at = 0.0
    while True:
        raw = await websocket.receive_text()
        if _is_typing(raw):
            # Shown to the agent following the conversation; never stored, and nothing is answered.
            now = asyncio.get_running_loop().time()
            if now - typed_at >= TYPING_EVERY_S:
                typed_at = now
                await bus.publish(conversation_topic(conversation.id), CitizenTyping())
            continue
        typed_at = 0.0  # a message was sent: the next words typed are news again
        try:
            inbound = to_inbound(raw, visitor)
            # Past the limit the message is not stored; the page is told so with its client id and
            # keeps the text to send again.
            await limiter.check("citizen", "web_messages", visitor)
            await limiter.check("address", "web_messages", address)
        except ApiError as error:
            frame: dict[str, object] = {"type": "error", "code": error.code, "message": error.message}
            if isinstance(error, RateLimited):
                frame |= {"client_msg_id": inbound.client_msg_id, "retry_after_s": error.extra["retry_after_s"]}
            await websocket.send_json(frame)
            continue
        # Answer in the background: the socket keeps reading, replies arrive through the bus.
        task = asyncio.create_task(_receive(websocket, hub, conversation, inbound))
        pending.add(task)
        task.add_done_callback(pending.discard)


async def _receive(websocket: WebSocket, hub: Hub, conversation: Conversation, inbound: Inbound) -> None:
    try:
        turn = await hub.receive(conversation, inbound)
        if turn.duplicate:
            # A resend after a reconnect: nothing new is published, so confirm it to this page.
            for message in (turn.message, *(sent.message for sent in turn.sent)):
                await websocket.send_json({"type": "message", "message": message.to_citizen_dict()})
    except Exception:
        log.exception("failed to handle a web message in conversation %s", conversation.id)
        # The page keeps the unconfirmed message and resends it with the same client id.
        try:
            error = {"type": "error", "code": "internal_error", "message": "消息发送失败，请重试。"}
            await websocket.send_json(error | {"client_msg_id": inbound.client_msg_id})
        except (WebSocketDisconnect, RuntimeError):
            pass


def _is_typing(raw: str) -> bool:
    if len(raw) > 64:
        return False
    try:
        frame = json.loads(raw)
    except ValueError:
        return False
    return isinstance(frame, dict) and frame.get("type") == "typing"


def to_inbound(raw: str, visitor: str) -> Inbound:
    """A socket frame (`{"type": "message", "text": …, "client_msg_id": …}`) from the page of `visitor`
    → the one inbound message; anything else is an ApiError the page shows."""
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise ApiError(413, "message_too_long", "消息太长了，请精简后再发送。")
    try:
        frame = json.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_frame", "消息格式不正确。") from None
    if not isinstance(frame, dict) or frame.get("type") != "message" or not isinstance(frame.get("text"), str):
        raise ApiError(400, "bad_frame", "消息格式不正确。")
    client_msg_id = frame.get("client_msg_id")
    if client_msg_id is not None and (not isinstance(client_msg_id, str) or len(client_msg_id) > 128):
        raise ApiError(400, "bad_frame", "消息编号格式不正确。")
    text = clean_text(frame["text"])
    return Inbound(channel=Channel.WEB, citizen=CitizenKey("web", visitor), text=text, client_msg_id=client_msg_id)
