"""`POST /api/v1/handoff`: the handoff contract over HTTP, for the bot's `action_handoff` (and only the bot:
it carries the action server's key, so nobody else can queue a conversation or show agents their text)."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_console.context import ConsoleDep
from agent_console.handoff import request_handoff
from agent_console.models import Reason
from core.deps import BOT_ERRORS, require_bot
from core.errors import INVALID_REQUEST, error_responses

router = APIRouter(prefix="/api/v1", tags=["handoff"])
MAX_SLOTS = 50
MAX_SLOTS_CHARS = 4000


class HandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    reason: Reason
    intent: str | None = Field(None, max_length=64)
    slots: dict[str, Any] | None = None
    contact: str | None = Field(None, max_length=64)

    @field_validator("slots")
    @classmethod
    def _small_slots(cls, slots: dict[str, Any] | None) -> dict[str, Any] | None:
        # Agents see these beside the conversation: the bot's form values, never a document.
        too_big = slots is not None and (
            len(slots) > MAX_SLOTS or len(json.dumps(slots, ensure_ascii=False)) > MAX_SLOTS_CHARS)
        if too_big:
            raise ValueError(f"at most {MAX_SLOTS} slots and {MAX_SLOTS_CHARS} characters")
        return slots


class HandoffOut(BaseModel):
    outcome: str
    position: int | None
    estimated_wait_s: int | None
    ticket_id: int | None
    message: str


@router.post(
    "/handoff", response_model=HandoffOut,
    summary="Ask for a person: queued (bot paused) with position and wait, or a callback ticket",
    dependencies=[Depends(require_bot)],
    responses=error_responses(INVALID_REQUEST, BOT_ERRORS, {
        404: ("conversation_not_found",), 409: ("conversation_closed",), 422: ("invalid_reason",),
        429: ("too_many_handoffs",),
    }),
)
async def handoff(body: HandoffIn, console: ConsoleDep) -> HandoffOut:
    outcome = await request_handoff(
        console, conversation_id=body.conversation_id, reason=body.reason, intent=body.intent,
        slots=body.slots, contact=body.contact,
    )
    return HandoffOut(**outcome.to_dict())
