"""Private notes between agents on a conversation: what a colleague taking over should know ("已核实身份",
"市民下午再来电"). Only the holder writes them; whoever may read the conversation (its holder,
supervisors) reads them. They live in their own table, never in the transcript, and travel on no bus
topic a channel listens to: a citizen cannot see one on any channel."""
from __future__ import annotations

from sqlalchemy import select

from agent_console.context import Console
from agent_console.conversations import may_read, owned
from agent_console.models import ConversationNote
from conversations.models import Conversation
from core.db import utcnow
from core.errors import ApiError
from staff import audit
from staff.auth import Me
from staff.models import Agent

MAX_NOTES = 200


def _note_dict(note: ConversationNote, author: str) -> dict:
    return {"id": note.id, "conversation_id": note.conversation_id, "text": note.text, "author": author,
            "created_at": note.created_at.isoformat()}


async def add(console: Console, me: Me, conversation_id: str, text: str) -> dict:
    async with console.sessions() as session:
        await owned(session, me, conversation_id)
        note = ConversationNote(conversation_id=conversation_id, agent_id=me.id, text=text, created_at=utcnow())
        session.add(note)
        await session.flush()
        audit.record(session, me.actor, "note", f"conversation:{conversation_id}", note_id=note.id, chars=len(text))
        await session.commit()
    return _note_dict(note, me.display_name)


async def of(console: Console, me: Me, conversation_id: str) -> list[dict]:
    async with console.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise ApiError(404, "conversation_not_found", "会话不存在。")
        if not await may_read(session, me, conversation):
            raise ApiError(403, "not_your_conversation", "该会话不在您的接待中，无法查看。")
        rows = (await session.execute(
            select(ConversationNote, Agent.display_name).join(Agent, Agent.id == ConversationNote.agent_id)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id.desc()).limit(MAX_NOTES)
        )).all()
    return [_note_dict(note, name) for note, name in reversed(rows)]
