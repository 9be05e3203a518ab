"""The hub's `fixed_replies`: input the bot cannot read is stored and answered without the bot,
and only while the bot is in charge (an agent's conversation stays the agent's)."""
from __future__ import annotations

import pytest

from conversations.bot_client import RasaClient
from conversations.hub import Hub
from conversations.lifecycle import transition
from conversations.models import Author, ConversationStatus
from conversations.replies import Reply
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker, migrate
from fakes.rasa import FakeRasa
from tests.messages import said


@pytest.fixture
async def hub(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    migrate(url)
    engine = make_engine(url)
    with FakeRasa() as rasa:
        bot = RasaClient(rasa.url, timeout_s=1.0)
        yield Hub(make_sessionmaker(engine), LocalBus(), bot, None, "12329", bot_deadline_s=1.0), rasa
        await bot.close()
    await engine.dispose()


async def test_fixed_replies_answer_instead_of_the_bot(hub):
    hub, rasa = hub
    conversation = await hub.open_conversation(channel="wechat", kind="wechat", value="o-1")
    picture = said(conversation, "[图片]", client_msg_id="m-1")
    turn = await hub.receive(conversation, picture, fixed_replies=[Reply("看不懂图片")])
    assert turn.replies == [Reply("看不懂图片")] and turn.sent[0].message.author == Author.BOT
    assert rasa.received == []
    retry = await hub.receive(conversation, picture, fixed_replies=[Reply("看不懂图片")])
    assert retry.duplicate and [s.message.id for s in retry.sent] == [s.message.id for s in turn.sent]


async def test_no_fixed_reply_means_silence_and_agents_own_their_conversations(hub):
    hub, rasa = hub
    conversation = await hub.open_conversation(channel="wechat", kind="wechat", value="o-2")
    assert (await hub.receive(conversation, said(conversation, "（取消关注）"), fixed_replies=[])).replies == []
    async with hub._sessions() as session:
        await transition(session, conversation.id, ConversationStatus.WAITING)
        await transition(session, conversation.id, ConversationStatus.HUMAN)
        await session.commit()
    turn = await hub.receive(conversation, said(conversation, "[图片]"), fixed_replies=[Reply("看不懂图片")])
    assert turn.replies == [] and rasa.received == []
    assert [m.text for m in await hub.history(conversation.id)] == ["（取消关注）", "[图片]"]
