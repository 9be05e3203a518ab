"""In the call: the person hears the message, repeats it, asks the assistant, asks for a person (queued
to the agents as inbound callers are), or says they want no more calls; replays act once."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from callout.models import Attempt, Suppression
from channels.voice.phone_line import PhoneLine
from conversations.bot_client import RasaClient
from conversations.handoff import HandoffOutcome, Handoffs
from conversations.hub import Hub
from conversations.lifecycle import transition
from conversations.models import Conversation, ConversationStatus, Message
from core.bus import EventBus, LocalBus
from fakes.rasa import FakeRasa
from staff.models import Role
from tests.callout.helpers import PUBLIC_BASE, Line, campaign_app, client, login, people


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    with FakeRasa() as fake:
        yield fake


@pytest.fixture
async def talking(line, rasa):
    """The line with the hub (and a fake Rasa), the phone line and an agent desk that queues."""
    bus = LocalBus()
    bot = RasaClient(rasa.url, timeout_s=2.0)
    sessions = line.callout.sessions
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=2.0)
    handoffs = Handoffs()
    requests: list[str] = []

    async def desk(*, conversation_id, reason, intent=None, slots=None, contact=None) -> HandoffOutcome:
        requests.append(conversation_id)
        async with sessions() as session:
            await transition(session, conversation_id, ConversationStatus.WAITING)
            await session.commit()
        return HandoffOutcome("queued", 1, 60, None, "已为您转接人工客服。")

    handoffs.register_desk(desk)
    phone = PhoneLine(line.callout.settings, sessions=sessions, bus=bus, hub=hub, handoffs=handoffs)
    async with client(campaign_app(line.callout, (Hub, hub), (PhoneLine, phone), (EventBus, bus))) as api:
        talking = Line(callout=line.callout, api=api, twilio=line.twilio, clock=line.clock)
        talking.requests = requests
        yield talking
    await phone.watcher.close()
    await bot.close()


async def one_call(line: Line) -> tuple[int, dict[str, str]]:
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    body = {"name": "还款提醒", "message": "{name}您好，您本月的公积金贷款还款{amount}元尚未扣款。",
            "voicemail_message": "{name}您好，这里是公积金中心，请留意本月还款。",
            "recipients": people(1, amount="2300"), "window": {"start": "09:00", "end": "20:00"}}
    campaign_id = await line.campaign(body, preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)
    call = line.twilio.calls[0]
    base = {"CallSid": call.sid, "AccountSid": line.twilio.account_sid, "From": call.params["From"], "To": call.to,
            "CallStatus": "in-progress", "Direction": "outbound-api"}
    return campaign_id, base


def spoken(xml: str) -> list[str]:
    return [say.text or "" for say in ET.fromstring(xml).iter("Say")]


def action(xml: str) -> str:
    return next(ET.fromstring(xml).iter("Gather")).get("action")


async def attempt(line: Line) -> Attempt:
    async with line.callout.sessions() as session:
        return await session.scalar(select(Attempt))


async def test_the_message_is_heard_repeated_and_replays_act_once(talking):
    _, base = await one_call(talking)
    answer_url = f"{PUBLIC_BASE}/callout/twilio/answer?a=1&s=0"
    first = await talking.post(answer_url, base)
    assert first.status_code == 200
    assert spoken(first.text)[0] == "市民零您好，您本月的公积金贷款还款两千三百元尚未扣款。"  # numbers as said aloud
    again = await talking.post(answer_url, base)  # Twilio retried the same request
    assert again.text == first.text
    gather = action(first.text)
    assert gather == f"{PUBLIC_BASE}/callout/twilio/gather?a=1&s=1"
    repeat = await talking.post(gather, base | {"Digits": "1"})
    assert "市民零您好" in spoken(repeat.text)[0]
    said_again = await talking.post(action(repeat.text), base | {"SpeechResult": "你再说一遍"})
    assert "市民零您好" in spoken(said_again.text)[0]
    assert (await attempt(talking)).heard == 3
    async with talking.callout.sessions() as session:
        notes = (await session.scalars(select(Message.text))).all()
    assert any("市民0您好" in text for text in notes)  # the message is on the person's conversation


async def test_opting_out_by_voice_ends_every_campaign_call(talking):
    campaign_id, base = await one_call(talking)
    first = await talking.post(f"{PUBLIC_BASE}/callout/twilio/answer?a=1&s=0", base)
    bye = await talking.post(action(first.text), base | {"SpeechResult": "以后不要再打这个电话了", "Confidence": "0.9"})
    assert "不再拨打" in spoken(bye.text)[0] and ET.fromstring(bye.text).find("Hangup") is not None
    async with talking.callout.sessions() as session:
        entry = await session.scalar(select(Suppression))
    assert entry.phone == "+8613900000000" and entry.source == "call"
    assert entry.evidence["said"] == "以后不要再打这个电话了" and entry.evidence["attempt_id"] == 1
    done = await talking.post(f"{PUBLIC_BASE}/callout/twilio/status?a=1", base | {"CallStatus": "completed",
                                                                                  "CallDuration": "25"})
    assert done.status_code == 204
    assert (await attempt(talking)).outcome == "opted_out"


async def test_opting_out_by_key(talking):
    _, base = await one_call(talking)
    first = await talking.post(f"{PUBLIC_BASE}/callout/twilio/answer?a=1&s=0", base)
    await talking.post(action(first.text), base | {"Digits": "9"})
    async with talking.callout.sessions() as session:
        assert (await session.scalar(select(Suppression.source))) == "call"


async def test_a_question_is_answered_by_the_assistant(talking, rasa):
    _, base = await one_call(talking)
    first = await talking.post(f"{PUBLIC_BASE}/callout/twilio/answer?a=1&s=0", base)
    answered = await talking.post(action(first.text), base | {"SpeechResult": "我可以提前还款吗"})
    assert spoken(answered.text)[0].startswith("收到：我可以提前还款吗")
    assert rasa.received[-1]["message"] == "我可以提前还款吗"


async def test_asking_for_a_person_queues_the_call(talking):
    _, base = await one_call(talking)
    first = await talking.post(f"{PUBLIC_BASE}/callout/twilio/answer?a=1&s=0", base)
    queued = await talking.post(action(first.text), base | {"Digits": "0"})
    root = ET.fromstring(queued.text)
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text.startswith("hpf-")
    assert len(talking.requests) == 1
    async with talking.callout.sessions() as session:
        status = await session.scalar(select(Conversation.status))
    assert status == ConversationStatus.WAITING
    done = await talking.post(f"{PUBLIC_BASE}/callout/twilio/status?a=1", base | {"CallStatus": "completed",
                                                                                  "CallDuration": "80"})
    assert done.status_code == 204
    assert (await attempt(talking)).outcome == "transferred"


async def test_a_machine_gets_the_voicemail(talking):
    _, base = await one_call(talking)
    left = await talking.post(f"{PUBLIC_BASE}/callout/twilio/voicemail?a=1", base)
    assert "请留意本月还款" in spoken(left.text)[0] and ET.fromstring(left.text).find("Hangup") is not None


async def test_unsubscribing_by_sms(line):
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": line.twilio.account_sid, "From": "+8613900000077",
              "To": "+861088880000", "Body": "退订"}
    answer = await line.post(f"{PUBLIC_BASE}/callout/twilio/sms", params)
    assert answer.status_code == 200 and "已退订" in answer.text
    chat = await line.post(f"{PUBLIC_BASE}/callout/twilio/sms", params | {"From": "+8613900000078", "Body": "你好"})
    assert "<Message>" not in chat.text
    async with line.callout.sessions() as session:
        assert (await session.scalars(select(Suppression.phone))).all() == ["+8613900000077"]
