"""The conversation hub on SQLite and PostgreSQL: identities, idempotent storage, bot deadline."""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from conversations.bot_client import RasaClient
from conversations.hub import Hub, Sent, Turn, conversation_topic
from conversations.lifecycle import IllegalTransition, transition
from conversations.models import Author, Citizen, Conversation, ConversationStatus, Message
from conversations.replies import Reply
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker, utcnow
from fakes.rasa import FakeRasa
from tests.messages import said


@pytest.fixture
async def hub_parts(database_url, knowledge_base):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    bus = LocalBus()
    with FakeRasa() as rasa:
        bot = RasaClient(rasa.url, timeout_s=1.0)
        hub = Hub(sessions, bus, bot, knowledge_base, "12329", bot_deadline_s=1.0)
        yield hub, sessions, bus, rasa
        await bot.close()
    await engine.dispose()


async def count(sessions, model) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_same_identity_same_open_conversation(hub_parts):
    hub, sessions, _, _ = hub_parts
    first = await hub.open_conversation(channel="app", kind="app", value="citizen-1")
    again = await hub.open_conversation(channel="app", kind="app", value="citizen-1")
    other_channel = await hub.open_conversation(channel="web", kind="app", value="citizen-1")
    assert first.id == again.id
    assert other_channel.id != first.id and other_channel.citizen_id == first.citizen_id
    assert await count(sessions, Citizen) == 1


async def test_concurrent_first_messages_create_one_citizen_and_conversation(hub_parts):
    hub, sessions, _, _ = hub_parts
    results = await asyncio.gather(
        *(hub.open_conversation(channel="app", kind="app", value="racer") for _ in range(20))
    )
    assert len({c.id for c in results}) == 1
    assert await count(sessions, Citizen) == 1
    assert await count(sessions, Conversation) == 1


async def test_message_and_reply_are_stored_in_order_with_sender_id(hub_parts):
    hub, _, _, rasa = hub_parts
    conversation = await hub.open_conversation(channel="app", kind="app", value="c2")
    turn = await hub.receive(conversation, said(conversation, "租房提取要什么材料"))
    assert [m.text for m in turn.replies] == ["收到：租房提取要什么材料"]
    assert rasa.received[-1]["sender"] == conversation.id
    assert rasa.received[-1]["metadata"] == {"channel": "app"}
    history = await hub.history(conversation.id)
    assert [(m.author, m.text) for m in history] == [
        (Author.CITIZEN, "租房提取要什么材料"),
        (Author.BOT, "收到：租房提取要什么材料"),
    ]
    assert history[1].payload["in_reply_to"] == history[0].id


async def test_retry_with_same_client_id_is_stored_once_and_gets_first_replies(hub_parts):
    hub, sessions, _, rasa = hub_parts
    conversation = await hub.open_conversation(channel="web", kind="web", value="v1")
    first = await hub.receive(conversation, said(conversation, "你好", client_msg_id="m-1"))
    retry = await hub.receive(conversation, said(conversation, "你好", client_msg_id="m-1"))
    assert retry.duplicate and retry.message.id == first.message.id
    assert [s.message.id for s in retry.sent] == [s.message.id for s in first.sent]
    assert retry.replies == first.replies, "the retry gets the same replies, read back from storage"
    assert len(rasa.received) == 1
    assert await count(sessions, Message) == 2


async def test_slow_bot_still_answers_before_deadline_and_keeps_message(hub_parts):
    hub, _, _, rasa = hub_parts
    rasa.delay = 5.0
    conversation = await hub.open_conversation(channel="app", kind="app", value="c3")
    started = time.monotonic()
    turn = await hub.receive(conversation, said(conversation, "租房提取需要带什么材料"))
    assert time.monotonic() - started < 3.5  # bot deadline 1 s + knowledge fallback at most 1.5 s
    assert turn.message.id is not None
    (reply,) = turn.replies
    assert reply.meta["fallback"] == "knowledge"
    assert reply.sources, "the knowledge-base fallback names its source"


async def test_unknown_question_with_bot_down_is_an_honest_apology(hub_parts):
    hub, _, _, rasa = hub_parts
    rasa.delay = 5.0
    conversation = await hub.open_conversation(channel="app", kind="app", value="c4")
    turn = await hub.receive(conversation, said(conversation, "qwzx plmk 啊啊"))
    (reply,) = turn.replies
    assert reply.meta["fallback"] == "unavailable" and "12329" in reply.text
    assert reply.sources == []


async def test_bot_stays_silent_while_a_human_owns_the_conversation(hub_parts):
    hub, sessions, _, rasa = hub_parts
    conversation = await hub.open_conversation(channel="app", kind="app", value="c5")
    async with sessions() as session:
        await session.execute(
            update(Conversation).where(Conversation.id == conversation.id).values(status=ConversationStatus.HUMAN)
        )
        await session.commit()
    turn = await hub.receive(conversation, said(conversation, "还在吗"))
    assert turn.replies == [] and rasa.received == []
    assert [m.text for m in await hub.history(conversation.id)] == ["还在吗"]


async def test_messages_are_published_to_the_conversation_topic(hub_parts):
    hub, _, bus, _ = hub_parts
    conversation = await hub.open_conversation(channel="app", kind="app", value="c6")
    async with bus.subscribe(conversation_topic(conversation.id)) as events:
        await hub.send(conversation.id, "app", Author.SYSTEM, Reply(text="系统通知"))
        event = await asyncio.wait_for(anext(events), timeout=2)
    assert event.type == "message" and event.message["text"] == "系统通知"


async def test_untrusted_text_is_stored_verbatim(hub_parts):
    hub, _, _, _ = hub_parts
    conversation = await hub.open_conversation(channel="app", kind="app", value="c7")
    nasty = "<script>alert(1)</script> 😀 ' OR 1=1; --"
    await hub.receive(conversation, said(conversation, nasty))
    assert (await hub.history(conversation.id))[0].text == nasty


async def test_pusher_delivers_only_messages_sent_outside_a_request(hub_parts):
    hub, _, _, _ = hub_parts
    pushed: list[str] = []

    async def pusher(sent: Sent) -> None:
        pushed.append(sent.reply.text)

    hub.register_pusher("wechat", pusher)
    conversation = await hub.open_conversation(channel="wechat", kind="wechat", value="openid-1")
    await hub.receive(conversation, said(conversation, "你好"))  # the bot's reply travels in the response, not as a push
    await hub.send(conversation.id, "wechat", Author.AGENT, Reply(text="我是人工客服"), push=True)
    assert pushed == ["我是人工客服"]


async def test_only_one_of_many_concurrent_transitions_wins(hub_parts):
    hub, sessions, _, _ = hub_parts
    conversation = await hub.open_conversation(channel="web", kind="web", value="claimed")

    async def attempt(target: ConversationStatus) -> bool:
        async with sessions() as session:
            try:
                await transition(session, conversation.id, target, expected=frozenset({ConversationStatus.BOT}))
                await session.commit()
                return True
            except IllegalTransition as exc:
                await session.rollback()
                assert exc.found in {ConversationStatus.WAITING, ConversationStatus.CLOSED}
                return False

    results = await asyncio.gather(*(attempt(ConversationStatus.WAITING) for _ in range(10)))
    assert results.count(True) == 1


async def test_illegal_transition_names_expected_and_found(hub_parts):
    hub, sessions, _, _ = hub_parts
    conversation = await hub.open_conversation(channel="web", kind="web", value="lifecycle")
    async with sessions() as session:
        with pytest.raises(IllegalTransition) as err:
            await transition(session, conversation.id, ConversationStatus.BOT)
    assert err.value.found == ConversationStatus.BOT and ConversationStatus.HUMAN in err.value.expected
    async with sessions() as session:
        await transition(session, conversation.id, ConversationStatus.CLOSED)
        await session.commit()
    reopened = await hub.open_conversation(channel="web", kind="web", value="lifecycle")
    assert reopened.id != conversation.id, "closing frees the slot for a new conversation"


async def dies_mid_answer(hub: Hub, rasa: FakeRasa, conversation: Conversation, text: str, client_msg_id: str) -> None:
    """The instance stores the message and asks the bot, then dies (its turn cancelled) before answering;
    the bot answers at once from here on."""
    rasa.delay = 5.0
    dying = asyncio.create_task(hub.receive(conversation, said(conversation, text, client_msg_id=client_msg_id)))
    while not rasa.received:
        await asyncio.sleep(0.01)
    dying.cancel()
    rasa.delay = 0.0


async def test_a_retry_while_the_first_attempt_answers_gets_that_answer(hub_parts):
    hub, _, _, rasa = hub_parts
    conversation = await hub.open_conversation(channel="app", kind="app", value="a-slow")
    rasa.delay = 1.5

    async def retry_soon() -> Turn:
        await asyncio.sleep(0.3)  # the first attempt has stored the message and asked the bot
        return await hub.receive(conversation, said(conversation, "租房提取", client_msg_id="a-1"))

    first, retry = await asyncio.gather(
        hub.receive(conversation, said(conversation, "租房提取", client_msg_id="a-1")), retry_soon())
    assert not first.duplicate and retry.duplicate
    assert [s.message.id for s in retry.sent] == [s.message.id for s in first.sent] and first.sent
    assert len(rasa.received) == 1, "the bot answered once"


async def test_a_message_its_instance_never_answered_is_answered_by_a_retry_once(hub_parts):
    """The instance that stored a message dies mid-answer (here: its turn is cancelled while the bot
    thinks). Retries wait while its answer lease runs; then one of them answers, the others get that
    answer, and so does a later retry, without asking the bot again."""
    hub, sessions, _, rasa = hub_parts
    conversation = await hub.open_conversation(channel="wechat", kind="wechat", value="o-dies")
    await dies_mid_answer(hub, rasa, conversation, "租房提取", "w-1")
    retries = [asyncio.create_task(hub.receive(conversation, said(conversation, "租房提取", client_msg_id="w-1")))
               for _ in range(3)]
    await asyncio.sleep(1.5)
    assert not any(task.done() for task in retries), "within the lease the retries wait"
    assert len(rasa.received) == 1
    async with sessions() as session:  # the lease runs out
        await session.execute(update(Message).where(Message.conversation_id == conversation.id)
                              .values(answer_lease_until=utcnow() - timedelta(seconds=1)))
        await session.commit()
    turns = await asyncio.wait_for(asyncio.gather(*retries), timeout=10)
    (answering,) = [t for t in turns if not t.duplicate]
    assert [r.text for r in answering.replies] == ["收到：租房提取"] and len(rasa.received) == 2
    later = await hub.receive(conversation, said(conversation, "租房提取", client_msg_id="w-1"))
    for turn in [*turns, later]:
        assert [s.message.id for s in turn.sent] == [s.message.id for s in answering.sent]
    assert len(rasa.received) == 2
    assert [m.author for m in await hub.history(conversation.id)] == [Author.CITIZEN, Author.BOT]


async def test_a_retry_takes_over_at_once_from_an_instance_known_dead(hub_parts):
    """Two instances on one database: the first stores a message and dies mid-answer (it had been
    saying it lives, and falls silent); the other's retry answers without waiting out the lease. While
    the first still beats, the retry waits for its answer instead."""
    hub, sessions, bus, rasa = hub_parts
    other = Hub(sessions, bus, hub._bot, None, "12329", bot_deadline_s=1.0)
    conversation = await hub.open_conversation(channel="app", kind="app", value="a-dead")
    await dies_mid_answer(hub, rasa, conversation, "提取", "d-1")
    await hub._beat(utcnow())  # alive, as far as anyone knows
    waiting = asyncio.create_task(other.receive(conversation, said(conversation, "提取", client_msg_id="d-1")))
    await asyncio.sleep(1.5)
    assert not waiting.done() and len(rasa.received) == 1, "a live holder's lease is waited on"
    await hub.stopped()  # as its heartbeat, silent for longer than DEAD_AFTER, says
    turn = await asyncio.wait_for(waiting, timeout=3)  # well within the 10 s lease
    assert not turn.duplicate and [r.text for r in turn.replies] == ["收到：提取"]
    assert len(rasa.received) == 2
