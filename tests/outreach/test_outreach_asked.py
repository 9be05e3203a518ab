"""What a citizen asked to borrow: the bot's calculator reply carries `loan_ask`, the stored reply keeps it,
and outreach reads the latest amount per citizen (on SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest

from conversations.models import Author, Citizen, Conversation, Direction, Message
from conversations.replies import from_rasa
from core.db import make_engine, make_sessionmaker
from outreach.asked import asked_amounts


def calculator_reply(amount: object) -> dict:
    return {"custom": {"text": "每月还款约3,000元", "buttons": [], "links": [], "sources": [],
                       "loan_ask": {"amount": amount}}}


def test_the_reply_keeps_a_sane_amount_only() -> None:
    reply = from_rasa(calculator_reply(600000))
    assert reply is not None and reply.payload()["loan_ask"] == {"amount": 600000.0}
    for bad in ("600000", -1, 0, True, None, 1e12):
        kept = from_rasa(calculator_reply(bad))
        assert kept is not None and "loan_ask" not in kept.payload()
    plain = from_rasa({"custom": {"text": "您好", "buttons": []}})
    assert plain is not None and plain.meta == {}


@pytest.fixture
async def sessions(database_url):
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_latest_amount_per_citizen(sessions) -> None:
    async with sessions() as session:
        session.add_all([Citizen(id="c1"), Citizen(id="c2"), Citizen(id="c3")])
        session.add_all([Conversation(id="v1", citizen_id="c1", channel="web"),
                         Conversation(id="v1b", citizen_id="c1", channel="wechat"),
                         Conversation(id="v2", citizen_id="c2", channel="app"),
                         Conversation(id="v3", citizen_id="c3", channel="web")])
        await session.flush()

        def bot(conversation: str, amount: object) -> Message:
            reply = from_rasa(calculator_reply(amount))
            assert reply is not None
            return Message(conversation_id=conversation, channel="web", direction=Direction.OUT, author=Author.BOT,
                           text=reply.text, payload=reply.payload())

        session.add(bot("v1", 300000))
        await session.flush()
        session.add(bot("v1b", 900000))  # the later question, on another channel
        await session.flush()
        session.add(bot("v2", 450000))
        await session.flush()
        session.add(Message(conversation_id="v2", channel="app", direction=Direction.OUT, author=Author.BOT,
                            text="别的回答", payload={"buttons": []}))
        # A citizen typing the same shape of JSON is not the bot's calculation.
        session.add(Message(conversation_id="v3", channel="web", direction=Direction.IN, author=Author.CITIZEN,
                            text="x", payload={"loan_ask": {"amount": 1.0}}))
        await session.commit()
    async with sessions() as session:
        assert await asked_amounts(session, ["c1", "c2", "c3", "nobody"]) == {"c1": 900000.0, "c2": 450000.0}
        assert await asked_amounts(session, []) == {}
