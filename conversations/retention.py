"""Retention of what citizens said: a closed conversation's messages are emptied CONVERSATION_RETENTION_DAYS
after its last activity, and the unanswered-questions report forgets questions as old.

What goes: every message's text and payload (buttons, links, ratings asked, the bot's explanations) and
its client id; the questions kept for the report. What stays: that the conversation happened, on which
channel and when, its messages' authors and times (the figures of the console and reports still add up),
and the citizen's linked identities, which are needed to recognise them next time and hold no words.
Run daily by the task queue (callout.queue); each batch is one transaction, and a conversation is marked
`purged_at` so a second run, or another worker at the same time, does nothing twice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.models import Conversation, Message
from core.db import rowcount
from knowledge.models import UnansweredQuestion

log = logging.getLogger(__name__)

PURGED_TEXT = "（已过保存期限，内容已删除）"
BATCH = 500


async def purge(sessions: async_sessionmaker[AsyncSession], now: datetime, days: int) -> int:
    """Empty the closed conversations last active before `days` ago; how many were emptied."""
    cutoff = now - timedelta(days=days)
    emptied = 0
    while True:
        async with sessions() as session, session.begin():
            due = list((await session.scalars(
                select(Conversation.id).where(Conversation.open_key.is_(None), Conversation.updated_at < cutoff,
                                              Conversation.purged_at.is_(None))
                .limit(BATCH).with_for_update(skip_locked=True)
            )).all())
            if not due:
                break
            await session.execute(
                update(Message).where(Message.conversation_id.in_(due))
                .values(text=PURGED_TEXT, payload={}, client_msg_id=None).execution_options(synchronize_session=False))
            marked = await session.execute(
                update(Conversation).where(Conversation.id.in_(due), Conversation.purged_at.is_(None))
                .values(purged_at=now).execution_options(synchronize_session=False))
            emptied += rowcount(marked)
    async with sessions() as session, session.begin():
        old = delete(UnansweredQuestion).where(UnansweredQuestion.asked_at < cutoff)
        forgotten = rowcount(await session.execute(old))
    if emptied or forgotten:
        log.info("conversation retention: emptied %d conversations, forgot %d unanswered questions", emptied, forgotten)
    return emptied
