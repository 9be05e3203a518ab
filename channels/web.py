"""The web channel: the citizen page at `/` and its WebSocket.

The browser holds a signed visitor token, so a reload or a reconnect continues the same
conversation; messages carry a client id, so a message resent after a reconnect is stored once.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from conversations.deps import HubDep
from conversations.events import NewMessage, StatusChanged, Typing
from conversations.hub import Hub, conversation_topic
from conversations.models import Channel
from conversations.text import clean_text
from core.deps import SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.events import Event
from core.signing import sign, unsign

log = logging.getLogger(__name__)
router = APIRouter(tags=["web"])
STATIC_DIR = Path(__file__).with_name("static")
TOKEN_PURPOSE = "web-visitor"
MAX_FRAME_BYTES = 64 * 1024
# What the citizen's page hears from the conversation's topic, sent as it travels on the bus.
CITIZEN_FRAMES = (NewMessage, Typing, StatusChanged)


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visitor_token: str | None = Field(None, max_length=200)


class SessionOut(BaseModel):
    visitor_token: str
    conversation_id: str


@router.get("/", include_in_schema=False, response_class=FileResponse)
async def index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.post("/api/v1/web/session", response_model=SessionOut,
             responses=error_responses(INVALID_REQUEST, {401: ("invalid_token",)}))
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
    websocket: WebSocket, token: Annotated[str, Query(max_length=200)] = "", after: Annotated[int, Query(ge=0)] = 0
) -> None:
    app = websocket.app
    visitor = unsign(app.state.settings.session_secret.get_secret_value(), TOKEN_PURPOSE, token)
    if visitor is None:
        await websocket.close(code=4401, reason="invalid token")
        return
    hub: Hub = app.state.hub
    conversation = await hub.open_conversation(channel=Channel.WEB, kind="web", value=visitor)
    await websocket.accept()
    async with app.state.bus.subscribe(conversation_topic(conversation.id)) as events:
        history = await hub.history(conversation.id, after_id=after)
        await websocket.send_json(
            {"type": "hello", "conversation_id": conversation.id, "history": [m.to_dict() for m in history]}
        )
        pusher = asyncio.create_task(_push_events(websocket, events))
        try:
            await _read_messages(websocket, hub, conversation)
        except WebSocketDisconnect:
            pass
        finally:
            pusher.cancel()


async def _push_events(websocket: WebSocket, events: AsyncIterator[Event]) -> None:
    try:
        async for event in events:
            if isinstance(event, CITIZEN_FRAMES):
                await websocket.send_json(event.to_wire())
    except (WebSocketDisconnect, RuntimeError):
        pass  # the reader notices the closed socket and ends the handler


async def _read_messages(websocket: WebSocket, hub: Hub, conversation) -> None:
    pending: set[asyncio.Task] = set()  # strong references: the loop only keeps weak ones
    while True:
        raw = await websocket.receive_text()
        frame = _parse_frame(raw)
        if isinstance(frame, ApiError):
            await websocket.send_json({"type": "error", "code": frame.code, "message": frame.message})
            continue
        text, client_msg_id = frame
        # Answer in the background: the socket keeps reading, replies arrive through the bus.
        task = asyncio.create_task(_receive(websocket, hub, conversation, text, client_msg_id))
        pending.add(task)
        task.add_done_callback(pending.discard)


async def _receive(websocket: WebSocket, hub: Hub, conversation, text: str, client_msg_id: str | None) -> None:
    try:
        turn = await hub.receive(conversation, text, client_msg_id=client_msg_id)
        if turn.duplicate:
            # A resend after a reconnect: nothing new is published, so confirm it to this page.
            for message in (turn.message, *turn.replies):
                await websocket.send_json({"type": "message", "message": message.to_dict()})
    except Exception:
        log.exception("failed to handle a web message in conversation %s", conversation.id)
        # The page keeps the unconfirmed message and resends it with the same client id.
        try:
            error = {"type": "error", "code": "internal_error", "message": "消息发送失败，请重试。"}
            await websocket.send_json(error | {"client_msg_id": client_msg_id})
        except (WebSocketDisconnect, RuntimeError):
            pass


def _parse_frame(raw: str) -> tuple[str, str | None] | ApiError:
    if len(raw.encode()) > MAX_FRAME_BYTES:
        return ApiError(413, "message_too_long", "消息太长了，请精简后再发送。")
    try:
        frame = json.loads(raw)
    except ValueError:
        return ApiError(400, "bad_frame", "消息格式不正确。")
    if not isinstance(frame, dict) or frame.get("type") != "message" or not isinstance(frame.get("text"), str):
        return ApiError(400, "bad_frame", "消息格式不正确。")
    client_msg_id = frame.get("client_msg_id")
    if client_msg_id is not None and (not isinstance(client_msg_id, str) or len(client_msg_id) > 128):
        return ApiError(400, "bad_frame", "消息编号格式不正确。")
    try:
        return clean_text(frame["text"]), client_msg_id
    except ApiError as error:
        return error
