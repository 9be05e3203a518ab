"""Ratings inside a conversation, on SQLite and PostgreSQL: the hand-back's request (five labelled buttons,
asked once), the answer as a digit, a payload or the level's words, reasons and a comment after a bad
one (the same rating), a request that never traps the citizen and expires, and the bot's own rating
after the citizen's thanks (once, never during a form)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from agent_console import claims, conversations
from agent_console.citizen_replies import CitizenReplies
from agent_console.context import Console
from agent_console.models import Handoff
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from conversations.models import Author
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker, utcnow
from core.settings import Settings
from fakes.rasa import FakeRasa
from ratings.context import Ratings
from ratings.conversation import ConversationRatings
from ratings.events import TOPIC, RatingNew
from ratings.models import Rating, RatingRequest, RectificationCase
from staff import passwords
from tests.agent_console.helpers import CHEAP_HASHER, World
from tests.callout.helpers import FrozenClock
from tests.messages import said

LABELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture(scope="module")
def rasa():
    with FakeRasa() as fake:
        yield fake


@pytest.fixture
async def world(database_url, rasa, tmp_path):
    """The console's parts with ratings wired in as ratings/startup.py wires them; the ratings' clock frozen."""
    rasa.received.clear()
    rasa.trackers.clear()
    engine = make_engine(database_url)
    bus = LocalBus()
    bot = RasaClient(rasa.url, timeout_s=1.0)
    sessions = make_sessionmaker(engine)
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=1.0)
    settings = Settings(data_dir=tmp_path, database_url=database_url, rasa_url=rasa.url, console_tick_s=0.1)
    console = Console(settings=settings, sessions=sessions, bus=bus, hub=hub, bot=bot, knowledge=None)
    hub.register_interceptor(CitizenReplies(console))
    ratings = Ratings(settings=settings, sessions=sessions, bus=bus, clock=FrozenClock(utcnow()))
    in_conversations = ConversationRatings(ratings, bot)
    console.register_rating_asker(in_conversations.ask_after_handoff)
    hub.register_interceptor(in_conversations)
    world = World(console=console, hub=hub, bus=bus, rasa=rasa)
    world.ratings = ratings  # type: ignore[attr-defined]
    world.asker = in_conversations  # type: ignore[attr-defined]
    yield world
    await bot.close()
    await engine.dispose()


async def served(world, user: str, channel: str = "app"):
    """A citizen an agent served and handed back: (conversation, the rating request message)."""
    me = await world.agent(f"agent-{user}")
    conversation_id, _ = await world.ask_for_person(user)
    conversation = await world.hub.open_conversation(channel=channel, kind=channel, value=user)
    await claims.claim(world.console, me, conversation_id)
    await conversations.finish(world.console, me, conversation_id)
    return conversation, (await world.hub.history(conversation_id))[-1], me


async def all_ratings(world) -> list[Rating]:
    async with world.console.sessions() as session:
        return list((await session.scalars(select(Rating).order_by(Rating.id))).all())


async def test_handback_asks_once_with_five_labelled_buttons_and_a_digit_records_it(world):
    conversation, request, me = await served(world, "rater")
    assert request.author == Author.SYSTEM
    assert [b["title"] for b in request.payload["buttons"]] == LABELS
    assert [b["payload"] for b in request.payload["buttons"]] == ["5", "4", "3", "2", "1"]
    assert request.payload["rating_request"] == {"conversation_id": conversation.id}
    assert "回复数字" in request.text and "5 非常满意" in request.text

    async with world.bus.subscribe(TOPIC) as events:
        rated = await world.hub.receive(conversation, said(conversation, "４"))  # full-width from a phone keyboard
        event = await anext(events)
    assert [r.text for r in rated.replies] == ["感谢您的评价（满意）！还有其他问题可以继续问我。"]
    assert isinstance(event, RatingNew) and event.level == 4 and event.agent_id == me.id and not event.bad
    assert "４" not in [r["message"] for r in world.rasa.received], "the answer never reaches the bot"
    (rating,) = await all_ratings(world)
    handoff_id = rating.event_key.split(":")[1]
    assert (rating.kind, rating.channel, rating.level, rating.agent_id) == ("agent", "app", 4, me.id)
    assert rating.department == "客服中心" and rating.citizen_id == conversation.citizen_id
    async with world.console.sessions() as session:
        handoff = await session.get(Handoff, int(handoff_id))
        request_row = await session.scalar(select(RatingRequest))
    assert handoff.rating == 4, "the console's own figures keep reading the handoff"
    assert request_row.answered_at is not None

    again = await world.hub.receive(conversation, said(conversation, "5"))
    assert [r.text for r in again.replies] == ["收到：5"], "rated once: later numbers are the bot's again"
    assert await world.asker.ask_after_handoff(handoff) is None, "a handoff is asked once"
    assert len(await all_ratings(world)) == 1


@pytest.mark.parametrize("answer", ["非常满意", "5", "5分", "５。"])
async def test_a_payload_a_title_or_a_digit_all_record_the_level(world, answer):
    conversation, _, _ = await served(world, "words")
    await world.hub.receive(conversation, said(conversation, answer))
    assert [r.level for r in await all_ratings(world)] == [5]


async def test_a_bad_rating_asks_reasons_then_a_comment_and_updates_the_same_rating(world):
    conversation, _, _ = await served(world, "unhappy")
    bad = await world.hub.receive(conversation, said(conversation, "1"))
    (ask_reasons,) = bad.replies
    assert [b["title"] for b in ask_reasons.buttons] == ["等待时间长", "答非所问", "态度不好", "问题未解决", "流程繁琐",
                                                        "其他", "跳过"]
    reason = await world.hub.receive(conversation, said(conversation, "答非所问"))
    assert "一句话" in reason.replies[0].text
    comment = "<b>等了</b><script>alert(1)</script> 半小时"
    noted = await world.hub.receive(conversation, said(conversation, comment))
    assert noted.replies[0].text.startswith("已记录您的意见")
    (rating,) = await all_ratings(world)
    assert (rating.level, rating.reasons, rating.comment) == (1, ["答非所问"], comment), "markup kept as text"
    async with world.console.sessions() as session:
        case = await session.scalar(select(RectificationCase).where(RectificationCase.rating_id == rating.id))
    assert case is not None and case.status, "a bad rating opens its rectification case"
    after = await world.hub.receive(conversation, said(conversation, "公积金怎么提取"))
    assert [r.text for r in after.replies] == ["收到：公积金怎么提取"], "the comment was asked for once"


async def test_reasons_and_comment_can_be_skipped_and_a_question_goes_to_the_bot(world):
    conversation, _, _ = await served(world, "skipper")
    await world.hub.receive(conversation, said(conversation, "不满意"))
    question = await world.hub.receive(conversation, said(conversation, "贷款利率是多少"))
    assert [r.text for r in question.replies] == ["收到：贷款利率是多少"], "not a reason: the bot answers"
    conversation2, _, _ = await served(world, "skipper2")
    await world.hub.receive(conversation2, said(conversation2, "2"))
    skipped = await world.hub.receive(conversation2, said(conversation2, "跳过"))
    assert skipped.replies[0].text.startswith("好的，感谢您的反馈")
    assert [(r.level, r.reasons, r.comment) for r in await all_ratings(world)] == [(2, [], None), (2, [], None)]


async def test_an_open_request_never_traps_the_citizen_and_expires(world):
    conversation, _, _ = await served(world, "busy")
    question = await world.hub.receive(conversation, said(conversation, "我还想问提取"))
    assert [r.text for r in question.replies] == ["收到：我还想问提取"]
    world.ratings.clock.advance(minutes=world.ratings.settings.rating_request_minutes + 1)
    late = await world.hub.receive(conversation, said(conversation, "5"))
    assert [r.text for r in late.replies] == ["收到：5"], "an expired request takes no answer: the bot's digit"
    assert await all_ratings(world) == []


async def test_the_bot_asks_once_after_thanks_never_during_a_form(world):
    conversation = await world.citizen("bot-user", "怎么提取公积金")
    world.rasa.trackers[conversation.id] = {"active_loop": {"name": "withdraw_form"}, "latest_message": {}}
    during_form = await world.hub.receive(conversation, said(conversation, "谢谢"))
    assert [r.text for r in during_form.replies] == ["收到：谢谢"], "a form is asking: the words are its"

    world.rasa.trackers[conversation.id] = {"active_loop": {}, "latest_message": {"intent": {"name": "withdraw-rent"}}}
    thanks = await world.hub.receive(conversation, said(conversation, "好的，谢谢！"))
    (request,) = thanks.replies
    assert [b["title"] for b in request.buttons] == LABELS and "智能客服" in request.text
    again = await world.hub.receive(conversation, said(conversation, "谢谢"))
    assert [r.text for r in again.replies] == ["收到：谢谢"], "asked once: not again right after"
    await world.hub.receive(conversation, said(conversation, "3"))
    (rating,) = await all_ratings(world)
    assert (rating.kind, rating.agent_id, rating.level, rating.business) == ("bot", None, 3, "withdraw-rent")
    assert rating.department == "提取科" and rating.event_key.startswith(f"bot:{conversation.id}:")

    await world.hub.receive(conversation, said(conversation, "那贷款呢"))
    later = await world.hub.receive(conversation, said(conversation, "谢谢"))
    assert [r.text for r in later.replies] == ["收到：谢谢"], "the bot's service of a day is rated once"
    async with world.console.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RatingRequest)) == 1


async def test_thanks_without_a_readable_tracker_or_without_a_bot_answer_goes_to_the_bot(world):
    conversation = await world.hub.open_conversation(channel="web", kind="web", value="first-words")
    first = await world.hub.receive(conversation, said(conversation, "谢谢"))
    assert [r.text for r in first.replies] == ["收到：谢谢"], "nothing was served yet"
    unknown = await world.hub.receive(conversation, said(conversation, "谢谢"))  # the fake has no tracker for it
    assert [r.text for r in unknown.replies] == ["收到：谢谢"]
    assert await all_ratings(world) == [] and world.ratings.clock.now() - utcnow() < timedelta(minutes=1)


@pytest.mark.parametrize("channel", ["phone", "webrtc"])
async def test_spoken_conversations_are_left_to_the_phone_lines_keys(world, channel):
    conversation = await world.citizen(f"voice-{channel}", "怎么提取公积金", channel=channel)
    world.rasa.trackers[conversation.id] = {"active_loop": {}, "latest_message": {"intent": {"name": "withdraw-rent"}}}
    thanks = await world.hub.receive(conversation, said(conversation, "谢谢"))
    assert [r.text for r in thanks.replies] == ["收到：谢谢"]
    async with world.console.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RatingRequest)) == 0
