"""The conversation model as the HTTP APIs show it: the console's transcripts, the app's pushes and
every message an agent sends (`Message.to_dict`)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from conversations.models import Author, Channel, Direction
from core.schemas import Timestamp


class MessageOut(BaseModel):
    id: int
    conversation_id: str
    channel: Channel
    direction: Direction
    author: Author
    text: str
    payload: dict[str, Any] = Field(
        description="buttons, links and sources as the citizen saw them, and the reply's meta "
        "(for example the agent's name, a rating request)"
    )
    created_at: Timestamp
