"""Callback tickets: requests for a person nobody could take at the time."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agent_console import callbacks, pool
from agent_console.context import ConsoleDep
from conversations.text import clean_text
from staff.auth import CurrentAgent

router = APIRouter(prefix="/api/v1/console/callbacks", tags=["console: callbacks"])


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=4000)


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=1000)


@router.get("", summary="Open and claimed callback tickets, oldest first")
async def list_tickets(me: CurrentAgent, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        return {"tickets": await pool.open_tickets(session)}


@router.post("/{ticket_id}/claim", summary="Take a ticket: 200 to one agent, 409 to the rest")
async def claim(ticket_id: int, me: CurrentAgent, console: ConsoleDep) -> dict:
    return await callbacks.claim(console, me, ticket_id)


@router.post("/{ticket_id}/reply", summary="Answer the citizen in their conversation")
async def reply(ticket_id: int, body: ReplyIn, me: CurrentAgent, console: ConsoleDep) -> dict:
    return await callbacks.reply(console, me, ticket_id, clean_text(body.text))


@router.post("/{ticket_id}/done", summary="Close a ticket you hold, with a note")
async def done(ticket_id: int, body: DoneIn, me: CurrentAgent, console: ConsoleDep) -> dict:
    return await callbacks.done(console, me, ticket_id, body.note)
