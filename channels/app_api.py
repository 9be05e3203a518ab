"""The app channel: the centre's mobile app sends a citizen's message and reads later pushes."""
from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from channels.hub import conversation_topic
from channels.models import Channel
from channels.text import clean_text
from core.deps import BusDep, HubDep, SettingsDep
from core.errors import ApiError

router = APIRouter(prefix="/api/v1/app", tags=["app"])

USER_ID = r"^[A-Za-z0-9_.:@-]{1,64}$"
MAX_WAIT_S = 30


def require_app_key(settings: SettingsDep, x_api_key: Annotated[str | None, Header()] = None) -> None:
    expected = settings.app_api_key.get_secret_value()
    if expected and not hmac.compare_digest(x_api_key or "", expected):
        raise ApiError(401, "invalid_api_key", "应用接口密钥无效。")


class AppMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user_id: str = Field(pattern=USER_ID, description="the app's stable id of the citizen")
    text: str = Field(max_length=20000)
    client_msg_id: str | None = Field(None, max_length=128, description="retries with the same id are stored once")


class ReplyOut(BaseModel):
    text: str
    buttons: list[dict]
    links: list[dict]
    sources: list[dict]


class AppMessageOut(BaseModel):
    conversation_id: str
    message_id: int
    replies: list[ReplyOut]


class PushesOut(BaseModel):
    conversation_id: str
    messages: list[dict]


def _reply_out(message) -> ReplyOut:
    payload = message.payload or {}
    return ReplyOut(
        text=message.text,
        buttons=payload.get("buttons", []),
        links=payload.get("links", []),
        sources=payload.get("sources", []),
    )


@router.post("/messages", response_model=AppMessageOut, dependencies=[Depends(require_app_key)])
async def post_message(body: AppMessageIn, hub: HubDep) -> AppMessageOut:
    text = clean_text(body.text)
    conversation = await hub.open_conversation(channel=Channel.APP, kind="app", value=body.user_id)
    turn = await hub.receive(conversation, text, client_msg_id=body.client_msg_id)
    return AppMessageOut(
        conversation_id=turn.conversation_id,
        message_id=turn.message.id,
        replies=[_reply_out(m) for m in turn.replies],
    )


@router.get("/messages", response_model=PushesOut, dependencies=[Depends(require_app_key)])
async def get_messages(
    hub: HubDep,
    bus: BusDep,
    user_id: Annotated[str, Query(pattern=USER_ID)],
    after: Annotated[int, Query(ge=0)] = 0,
    wait: Annotated[int, Query(ge=0, le=MAX_WAIT_S, description="long-poll seconds")] = 0,
) -> PushesOut:
    """Messages after `after` (bot, agent and system messages the app has not shown yet).
    With `wait`, holds the request until something arrives (long polling)."""
    conversation = await hub.open_conversation(channel=Channel.APP, kind="app", value=user_id)
    messages = await hub.history(conversation.id, after_id=after)
    if not messages and wait:
        async with bus.subscribe(conversation_topic(conversation.id)) as events:
            messages = await hub.history(conversation.id, after_id=after)  # closes the subscribe race
            if not messages:
                try:
                    await asyncio.wait_for(_next_message(events), timeout=wait)
                except asyncio.TimeoutError:
                    pass
                messages = await hub.history(conversation.id, after_id=after)
    return PushesOut(conversation_id=conversation.id, messages=[m.to_dict() for m in messages])


async def _next_message(events) -> None:
    async for event in events:
        if event.get("type") == "message":
            return
