"""`POST /api/v1/handoff`: the handoff contract over HTTP, for the bot's `action_handoff`."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agent_console.context import ConsoleDep
from agent_console.handoff import request_handoff
from agent_console.models import Reason
from core.errors import INVALID_REQUEST, error_responses

router = APIRouter(prefix="/api/v1", tags=["handoff"])


class HandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    reason: Reason
    intent: str | None = Field(None, max_length=64)
    slots: dict | None = None
    contact: str | None = Field(None, max_length=64)


class HandoffOut(BaseModel):
    outcome: str
    position: int | None
    estimated_wait_s: int | None
    ticket_id: int | None
    message: str


@router.post(
    "/handoff", response_model=HandoffOut,
    summary="Ask for a person: queued (bot paused) with position and wait, or a callback ticket",
    responses=error_responses(INVALID_REQUEST, {
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
