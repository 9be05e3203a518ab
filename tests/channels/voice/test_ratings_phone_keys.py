"""好差评 on the phone line: keys 1-5 at the end of a call, driven as Twilio drives it (signed form POSTs
through the real app on SQLite, Twilio's REST API a local fake). After an agent, after the voice
assistant; asked once, rated once, a replay or a key outside 1-5 rates nothing."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from channels.voice.phone_line import PhoneLine
from conversations.events import Claimed
from conversations.models import Conversation
from core.services import services_of
from ratings.models import Rating, RatingRequest, RectificationCase
from tests.channels.voice.phone_fakes import AUTH_TOKEN, PUBLIC_BASE, TwilioCaller
from tests.channels.voice.twiml_helpers import next_url, parse, spoken


@pytest.fixture
def caller(app_client) -> TwilioCaller:
    return TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex, caller=f"+86136{uuid.uuid4().int % 10**8:08d}")


def run(client, fn, *args):
    return client.portal.call(fn, *args)


def rows(client, model, call_sid: str) -> list:
    async def load():
        async with services_of(client.app).get(async_sessionmaker)() as session:
            return list(await session.scalars(select(model).where(model.event_key == f"call:{call_sid}")))

    return run(client, load)


def citizen_of(client, conversation_id: str) -> str:
    async def load():
        async with services_of(client.app).get(async_sessionmaker)() as session:
            return (await session.get(Conversation, conversation_id)).citizen_id

    return run(client, load)


def after_agent(caller: TwilioCaller, client, pool, agent_id: int = 7):
    """Pick up, ask for a person, an agent claims and is dialled, then hangs up: the TwiML after it."""
    root = parse(caller.call("/voice/twilio/inbound"))
    parse(caller.post(next_url(root), {"Digits": "0"}))
    line = services_of(client.app).get(PhoneLine)
    run(client, line._claimed, caller.call_sid, Claimed(agent_id=agent_id, agent_name="王芳"))
    root = parse(caller.call("/voice/twilio/connect"))
    return parse(caller.post(root.find("Dial").get("action"), {"DialCallStatus": "completed"}))


def test_after_the_agent_hangs_up_the_caller_presses_a_key_once(caller, app_client, pool):
    root = after_agent(caller, app_client, pool)
    rating = root.find("Gather")
    assert rating is not None and rating.get("input") == "dtmf" and rating.get("numDigits") == "1"
    assert rating.get("action").startswith(f"{PUBLIC_BASE}/voice/twilio/rate?s=")
    assert "非常满意请按五" in spoken(rating) and "非常不满意请按一" in spoken(rating)
    # Silence is not posted: the call goes on to the goodbye after the Gather and hangs up (asked once).
    assert rating.get("actionOnEmptyResult") is None and root.find("Hangup") is not None
    assert [r.kind for r in rows(app_client, RatingRequest, caller.call_sid)] == ["call_agent"]

    done = parse(caller.post(rating.get("action"), {"Digits": "2"}))
    assert "感谢您的评价" in spoken(done) and done.find("Hangup") is not None
    again = parse(caller.post(rating.get("action"), {"Digits": "5"}))  # a replay of the signed callback
    assert again.find("Gather") is None and again.find("Hangup") is not None
    [stored] = rows(app_client, Rating, caller.call_sid)
    assert (stored.level, stored.kind, stored.channel, stored.agent_id) == (2, "call_agent", "phone", 7)
    call = run(app_client, services_of(app_client.app).get(PhoneLine).calls.get, caller.call_sid)
    assert stored.conversation_id == call.conversation_id
    assert stored.citizen_id == citizen_of(app_client, call.conversation_id)

    async def case():  # 不满意 opens its rectification case with the rating
        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            return await session.scalar(select(RectificationCase).where(RectificationCase.rating_id == stored.id))

    assert run(app_client, case) is not None


def test_a_caller_who_hung_up_first_is_not_asked(caller, app_client, pool):
    root = parse(caller.call("/voice/twilio/inbound"))
    parse(caller.post(next_url(root), {"Digits": "0"}))
    run(app_client, services_of(app_client.app).get(PhoneLine)._claimed, caller.call_sid,
        Claimed(agent_id=7, agent_name="王芳"))
    root = parse(caller.call("/voice/twilio/connect"))
    end = parse(caller.post(root.find("Dial").get("action"), {"DialCallStatus": "completed", "CallStatus": "completed"}))
    assert end.find("Gather") is None and rows(app_client, RatingRequest, caller.call_sid) == []


@pytest.mark.parametrize("digits", ["0", "6", "9", "*", "55", ""])
def test_a_key_outside_one_to_five_rates_nothing(digits, caller, app_client, pool):
    root = after_agent(caller, app_client, pool)
    done = parse(caller.post(root.find("Gather").get("action"), {"Digits": digits}))
    assert "感谢您的来电" in spoken(done) and done.find("Hangup") is not None and done.find("Gather") is None
    assert rows(app_client, Rating, caller.call_sid) == []


def test_a_forged_rating_callback_is_refused(caller, app_client, pool):
    root = after_agent(caller, app_client, pool)
    action = root.find("Gather").get("action")
    forged = caller.post(action, {"Digits": "1"}, token="not-" + AUTH_TOKEN)
    assert forged.status_code == 403 and forged.json()["code"] == "bad_signature"
    altered = caller.post(action, {"Digits": "1"}, signed_url=action.replace("rate", "gather"))
    assert altered.status_code == 403
    assert rows(app_client, Rating, caller.call_sid) == []


def test_the_browser_phone_bridge_ending_asks_too_but_never_twice(caller, app_client, pool):
    root = parse(caller.call("/voice/twilio/inbound"))
    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    dequeued = root.find("Enqueue").get("action")
    run(app_client, services_of(app_client.app).get(PhoneLine)._claimed, caller.call_sid,
        Claimed(agent_id=8, agent_name="李强"))
    root = parse(caller.post(dequeued, {"QueueResult": "bridged"}))
    assert root.find("Gather") is not None and "评价" in spoken(root)
    # Were the call to end again (say a second bridge), the request exists: goodbye, no question.
    line = services_of(app_client.app).get(PhoneLine)
    call = run(app_client, line.calls.get, caller.call_sid)
    assert run(app_client, line._rating, call) is None


def test_after_the_bot_a_goodbye_ends_with_the_rating_and_keys_rate_the_bot(caller, app_client):
    root = parse(caller.call("/voice/twilio/inbound"))
    root = parse(caller.post(next_url(root), {"SpeechResult": "好的，没有了，谢谢", "Confidence": "0.9"}))
    rating = root.find("Gather")
    assert rating.get("input") == "dtmf" and "非常满意请按五" in spoken(root)
    done = parse(caller.post(rating.get("action"), {"Digits": "5"}))
    assert "感谢您的评价" in spoken(done)
    [stored] = rows(app_client, Rating, caller.call_sid)
    assert (stored.level, stored.kind, stored.agent_id) == (5, "call_bot", None)


def test_a_question_is_not_a_goodbye(caller, app_client):
    root = parse(caller.call("/voice/twilio/inbound"))
    root = parse(caller.post(next_url(root), {"SpeechResult": "公积金贷款利率是多少", "Confidence": "0.9"}))
    assert root.find("Gather").get("input") == "speech dtmf"
    assert rows(app_client, RatingRequest, caller.call_sid) == []


def test_with_the_real_pool_the_rating_names_the_agent_and_the_business_of_the_handoff(app_client, monkeypatch):
    """The agent who grabbed the caller is rated; the business is the handoff's skill group (as a transfer
    sets it), and the department the business's owner (ratings/departments.yml: loan- → 贷款科)."""
    from argon2 import PasswordHasher

    from agent_console import claims, duty
    from agent_console.context import Console
    from agent_console.models import Handoff
    from staff import accounts, passwords
    from staff.audit import SYSTEM
    from staff.auth import Me
    from staff.models import Role

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    console = services_of(app_client.app).get(Console)

    async def agent_on_duty():
        made = await accounts.create(console, username=f"rate-{uuid.uuid4().hex[:6]}", password="secret-pass-1",
                                     role=Role.AGENT, capacity=3, display_name="客服小李", phone="+863101113333",
                                     skills=["loan-apply"], actor=SYSTEM)
        me = Me(id=made.id, username=made.username, display_name=made.display_name, role=made.role,
                capacity=made.capacity, skills=("loan-apply",), phone=made.phone, session_id="test", ip=None)
        await duty.apply(console, me, 60)
        return me

    me = run(app_client, agent_on_duty)
    caller = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex, caller=f"+86135{uuid.uuid4().int % 10**8:08d}")
    root = parse(caller.call("/voice/twilio/inbound"))
    parse(caller.post(next_url(root), {"Digits": "0"}))
    call = run(app_client, services_of(app_client.app).get(PhoneLine).calls.get, caller.call_sid)

    async def skill():
        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            handoff = await session.scalar(select(Handoff).where(Handoff.conversation_id == call.conversation_id))
            handoff.skill = "loan-apply"
            await session.commit()

    run(app_client, skill)
    run(app_client, claims.claim, console, me, call.conversation_id)
    run(app_client, services_of(app_client.app).get(PhoneLine)._claimed, caller.call_sid,
        Claimed(agent_id=me.id, agent_name="客服小李", agent_phone="+863101113333"))
    root = parse(caller.call("/voice/twilio/connect"))
    root = parse(caller.post(root.find("Dial").get("action"), {"DialCallStatus": "completed"}))
    parse(caller.post(root.find("Gather").get("action"), {"Digits": "1"}))
    [stored] = rows(app_client, Rating, caller.call_sid)
    assert (stored.level, stored.agent_id, stored.business, stored.department) == (1, me.id, "loan-apply", "贷款科")
