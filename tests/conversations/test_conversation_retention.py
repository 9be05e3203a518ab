"""Retention of citizens' words on SQLite and PostgreSQL: a closed conversation past the period has its
messages emptied (text, payload, client id) and is marked; a recent one, and an old one still open, keep
theirs; old unanswered questions are forgotten; a second run changes nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from conversations.models import Author, Citizen, Conversation, Direction, Message
from conversations.retention import PURGED_TEXT, purge
from core.db import make_engine, make_sessionmaker
from knowledge.models import UnansweredQuestion

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
async def sessions(database_url):
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def conversation(sessions, *, last: datetime, open_: bool, words: str) -> str:
    async with sessions() as session:
        citizen = Citizen()
        session.add(citizen)
        await session.flush()
        talk = Conversation(citizen_id=citizen.id, channel="web", open_key=f"{citizen.id}:web" if open_ else None,
                            created_at=last, updated_at=last)
        session.add(talk)
        await session.flush()
        session.add_all([
            Message(conversation_id=talk.id, channel="web", direction=Direction.IN, author=Author.CITIZEN,
                    text=words, client_msg_id="m1", created_at=last),
            Message(conversation_id=talk.id, channel="web", direction=Direction.OUT, author=Author.BOT,
                    text="答复", payload={"buttons": [{"title": "好", "payload": "好"}]}, created_at=last),
        ])
        await session.commit()
        # Stored as given: the column's onupdate would otherwise set it to the real now.
        await session.execute(Conversation.__table__.update().where(Conversation.id == talk.id)
                              .values(updated_at=last))
        await session.commit()
        return talk.id


async def messages(sessions, conversation_id: str) -> list[Message]:
    async with sessions() as session:
        return list((await session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                           .order_by(Message.id))).all())


async def test_old_closed_conversations_lose_their_words_and_nothing_else_does(sessions):
    old = await conversation(sessions, last=NOW - timedelta(days=400), open_=False, words="我的手机13812345678")
    recent = await conversation(sessions, last=NOW - timedelta(days=10), open_=False, words="最近的问题")
    still_open = await conversation(sessions, last=NOW - timedelta(days=400), open_=True, words="还开着")
    async with sessions() as session:
        session.add_all([UnansweredQuestion(asked_at=NOW - timedelta(days=400), question="很久以前", normalised="x",
                                            kind="declined"),
                         UnansweredQuestion(asked_at=NOW - timedelta(days=3), question="前几天", normalised="y",
                                            kind="declined")])
        await session.commit()

    assert await purge(sessions, NOW, days=365) == 1
    emptied = await messages(sessions, old)
    assert [(m.text, m.payload, m.client_msg_id) for m in emptied] == [(PURGED_TEXT, {}, None)] * 2
    assert [m.author for m in emptied] == [Author.CITIZEN, Author.BOT]  # the figures still add up
    assert [m.text for m in await messages(sessions, recent)] == ["最近的问题", "答复"]
    assert [m.text for m in await messages(sessions, still_open)] == ["还开着", "答复"]
    async with sessions() as session:
        assert (await session.get(Conversation, old)).purged_at is not None
        assert list((await session.scalars(select(UnansweredQuestion.question))).all()) == ["前几天"]

    assert await purge(sessions, NOW, days=365) == 0  # nothing twice
