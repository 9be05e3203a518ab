"""What citizens asked to borrow in past conversations: the principal of their last loan calculation.

The bot's calculators (monthly repayment, loan estimate) mark their answer with `loan_ask: {"amount"}`
and the hub keeps it in the stored reply's payload (conversations/replies.py). A segment compares it
with the citizen's own maximum to offer a combination-loan estimate when the maximum falls short.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.models import Author, Conversation, Message

CHUNK = 500  # citizens per query: well inside every database's limit on bound parameters


async def asked_amounts(session: AsyncSession, citizen_ids: Iterable[str]) -> dict[str, float]:
    """The latest amount each of these citizens asked about (yuan); citizens who never asked are absent."""
    wanted = list(dict.fromkeys(citizen_ids))
    found: dict[str, float] = {}
    amount = Message.payload[("loan_ask", "amount")].as_float()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        rows = await session.execute(
            select(Conversation.citizen_id, amount)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Conversation.citizen_id.in_(chunk), Message.author == Author.BOT, amount.is_not(None))
            .order_by(Message.id.desc())
        )
        for citizen_id, value in rows:
            if citizen_id not in found and value is not None and value > 0:
                found[citizen_id] = float(value)
    return found
