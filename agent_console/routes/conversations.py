"""An agent's conversations: the handoff packet, replies, transfers and the hand-back to the bot.
Supervisors may open any conversation read-only."""
from __future__ import annotations

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent_console import claims, conversations
from agent_console.context import ConsoleDep
from agent_console.glance import glance
from agent_console.routes.schemas import Finished, HeldConversations, Packet, Transferred
from conversations.schemas import MessageOut
from conversations.text import clean_text
from core.errors import INVALID_REQUEST, error_responses
from staff.auth import CSRF_ERRORS, SIGNED_IN_ERRORS, CurrentAgent

router = APIRouter(prefix="/api/v1/console/conversations", tags=["console: conversations"])
ConversationId = Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")
# The errors of acting on a conversation one holds (conversations.owned); each route adds its own.
HELD = (SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST,
        {403: ("not_your_conversation",), 404: ("conversation_not_found",)})


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=100)
    url: str = Field(pattern=r"^https?://", max_length=500)


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4000)
    links: list[Link] = Field(default_factory=list, max_length=5)


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_agent_id: int | None = None
    to_skill: str | None = Field(None, min_length=1, max_length=32)
    note: str | None = Field(None, max_length=500)

    @field_validator("note")
    @classmethod
    def _blank_note(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.to_agent_id is None) == (self.to_skill is None):
            raise ValueError("give exactly one of to_agent_id and to_skill")
        return self


@router.get("", response_model=HeldConversations, summary="The conversations I hold",
            responses=error_responses(SIGNED_IN_ERRORS))
async def my_conversations(me: CurrentAgent, console: ConsoleDep) -> dict:
    return {"conversations": await conversations.mine(console, me)}


@router.get("/{conversation_id}", response_model=Packet,
            summary="The handoff packet: transcript, intent, slots, citizen, earlier conversations",
            responses=error_responses(SIGNED_IN_ERRORS, INVALID_REQUEST, {
                403: ("not_your_conversation",), 404: ("conversation_not_found",),
            }))
async def get_conversation(me: CurrentAgent, console: ConsoleDep, conversation_id: str = ConversationId) -> dict:
    packet = await conversations.packet(console, me, conversation_id)
    return packet | {"glance": glance(packet, console.knowledge, console.settings.checklists_dir)}


@router.post("/{conversation_id}/messages", response_model=MessageOut,
             summary="Reply to the citizen (pushed on their channel)",
             responses=error_responses(*HELD, {422: ("empty_message", "message_too_long")}))
async def send_message(
    body: MessageIn, me: CurrentAgent, console: ConsoleDep, conversation_id: str = ConversationId
) -> dict:
    text = clean_text(body.text)
    return await conversations.send(console, me, conversation_id, text, [link.model_dump() for link in body.links])


@router.post(
    "/{conversation_id}/transfer", response_model=Transferred, response_model_exclude_unset=True,
    summary="Transfer to another agent or back to the pool for a skill group",
    responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST, {
        403: ("not_your_conversation", "not_on_duty", "on_break"), 404: ("agent_not_found",),
        409: ("at_capacity", "conversation_changed"), 422: ("transfer_to_self",),
    }),
)
async def transfer(
    body: TransferIn, me: CurrentAgent, console: ConsoleDep, conversation_id: str = ConversationId
) -> dict:
    if body.to_agent_id is not None:
        taken = await claims.transfer_to_agent(console, me, conversation_id, body.to_agent_id, body.note)
        return {"conversation_id": conversation_id, "to_agent_id": taken.agent_id}
    await claims.return_to_pool(console, conversation_id, from_agent=me.id, actor=me.actor, reason="transfer",
                                skill=(body.to_skill or "").strip(), note=body.note)
    return {"conversation_id": conversation_id, "to_skill": body.to_skill}


@router.post("/{conversation_id}/finish", response_model=Finished,
             summary="Hand back to the bot (Rasa resumed) and ask the citizen for a rating",
             responses=error_responses(*HELD, {409: ("conversation_changed",)}))
async def finish(me: CurrentAgent, console: ConsoleDep, conversation_id: str = ConversationId) -> dict:
    return await conversations.finish(console, me, conversation_id)
