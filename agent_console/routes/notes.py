"""Private notes between agents on a conversation (agent_console/notes.py): never shown to the citizen."""
from __future__ import annotations

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from agent_console import notes
from agent_console.context import ConsoleDep
from agent_console.routes.schemas import Note, NotesOut
from conversations.text import clean_text
from core.errors import INVALID_REQUEST, error_responses
from staff.auth import CSRF_ERRORS, SIGNED_IN_ERRORS, CurrentAgent

router = APIRouter(prefix="/api/v1/console/conversations", tags=["console: notes"])
ConversationId = Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")
READ_ERRORS = {403: ("not_your_conversation",), 404: ("conversation_not_found",)}


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2000)


@router.get("/{conversation_id}/notes", response_model=NotesOut,
            summary="The agents' private notes on a conversation (holder and supervisors)",
            responses=error_responses(SIGNED_IN_ERRORS, INVALID_REQUEST, READ_ERRORS))
async def list_notes(me: CurrentAgent, console: ConsoleDep, conversation_id: str = ConversationId) -> dict:
    return {"notes": await notes.of(console, me, conversation_id)}


@router.post("/{conversation_id}/notes", response_model=Note, status_code=201,
             summary="Add a private note (the holder only; the citizen never sees it)",
             responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST, READ_ERRORS,
                                       {422: ("empty_message", "message_too_long")}))
async def add_note(body: NoteIn, me: CurrentAgent, console: ConsoleDep, conversation_id: str = ConversationId) -> dict:
    return await notes.add(console, me, conversation_id, clean_text(body.text))
