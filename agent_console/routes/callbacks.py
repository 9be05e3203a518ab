"""Callback tickets: requests for a person nobody could take at the time."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agent_console import callbacks, pool
from agent_console.context import ConsoleDep
from agent_console.routes.schemas import TicketOut, TicketsOut
from conversations.schemas import MessageOut
from conversations.text import clean_text
from core.errors import INVALID_REQUEST, error_responses
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, ServingAgent

router = APIRouter(prefix="/api/v1/console/callbacks", tags=["console: callbacks"])
CHANGE = (SIGNED_IN_ERRORS, CSRF_ERRORS, ROLE_ERRORS, INVALID_REQUEST, {404: ("ticket_not_found",)})


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4000)


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=1000)


@router.get("", response_model=TicketsOut, summary="Open and claimed callback tickets, oldest first",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def list_tickets(me: ServingAgent, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        return {"tickets": await pool.open_tickets(session)}


@router.post("/{ticket_id}/claim", response_model=TicketOut,
             summary="Take a ticket: 200 to one agent, 409 to the rest",
             responses=error_responses(*CHANGE, {409: ("ticket_taken",)}))
async def claim(ticket_id: int, me: ServingAgent, console: ConsoleDep) -> dict:
    return await callbacks.claim(console, me, ticket_id)


@router.post("/{ticket_id}/reply", response_model=MessageOut, summary="Answer the citizen in their conversation",
             responses=error_responses(
                 *CHANGE, {403: ("not_your_ticket",), 422: ("empty_message", "message_too_long")}
             ))
async def reply(ticket_id: int, body: ReplyIn, me: ServingAgent, console: ConsoleDep) -> dict:
    return await callbacks.reply(console, me, ticket_id, clean_text(body.text))


@router.post("/{ticket_id}/done", response_model=TicketOut, summary="Close a ticket you hold, with a note",
             responses=error_responses(*CHANGE, {403: ("not_your_ticket",), 409: ("ticket_changed",)}))
async def done(ticket_id: int, body: DoneIn, me: ServingAgent, console: ConsoleDep) -> dict:
    return await callbacks.done(console, me, ticket_id, body.note)
