"""The conversation lifecycle: which status may follow which, decided by the database.

A transition is one conditional UPDATE (`… WHERE id = :id AND status IN (:allowed)`): among any
number of processes attempting the same change, exactly one sees a row changed. Everyone else
gets an `IllegalTransition` naming the states expected and the state found. A handoff's changes
(`agent_console/handoff_states.py`) move the conversation through here in the same transaction.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.models import Conversation, ConversationStatus
from core import states
from core.db import rowcount

S = ConversationStatus
ALLOWED: dict[ConversationStatus, frozenset[ConversationStatus]] = {
    S.WAITING: frozenset({S.BOT, S.HUMAN}),       # handoff requested; or transferred back to the pool
    S.HUMAN: frozenset({S.WAITING, S.HUMAN}),     # grabbed from the pool; or transferred agent to agent
    S.BOT: frozenset({S.WAITING, S.HUMAN}),       # the citizen leaves the queue; the agent finishes
    S.CLOSED: frozenset({S.BOT, S.WAITING, S.HUMAN}),
}


class IllegalTransition(states.IllegalTransition):
    def __init__(
        self, conversation_id: str, target: ConversationStatus, expected: frozenset[ConversationStatus],
        found: str | None,
    ) -> None:
        self.conversation_id = conversation_id
        super().__init__(f"conversation {conversation_id}", target, expected, found)


async def transition(
    session: AsyncSession,
    conversation_id: str,
    target: ConversationStatus,
    *,
    expected: frozenset[ConversationStatus] | None = None,
    values: dict[str, Any] | None = None,
) -> None:
    """Move the conversation to `target` if it is in one of `expected` (default: every state allowed
    before `target`). Extra column `values` are written in the same statement. Caller commits."""
    allowed = states.allowed_before(ALLOWED, target, expected)
    changes = {"status": target, **(values or {})}
    if target == S.CLOSED:
        changes["open_key"] = None  # a closed conversation frees its citizen's slot on that channel
    result = await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status.in_([str(s) for s in allowed]))
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        found = await session.scalar(select(Conversation.status).where(Conversation.id == conversation_id))
        raise IllegalTransition(conversation_id, target, allowed, found)
