"""In the call: the person hears the message, repeats it, asks the assistant, asks for a person (queued
to the agents as inbound callers are), or says they want no more calls; replays act once."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from callout.models import Suppression
from conversations.handoff import HandoffDesk, HandoffOutcome
from conversations.lifecycle import transition
from conversations.models import Conversation, ConversationStatus, Message
from tests.callout.helpers import PUBLIC_BASE, PhoneStack, action, attempt, one_call, phone_stack, spoken


@pytest.fixture
async def talking(line, rasa):
    """The line with the hub (and a fake Rasa), the phone line and an agent desk that queues."""
    requests: list[str] = []

    def queueing_desk(stack: PhoneStack) -> HandoffDesk:
        async def desk(*, conversation_id, reason, intent=None, slots=None, contact=None) -> HandoffOutcome:
            requests.append(conversation_id)
            async with stack.sessions() as session:
                await transition(session, conversation_id, ConversationStatus.WAITING)
                await session.commit()
            return HandoffOutcome("queued", 1, 60, None, "已为您转接人工客服。")
        return desk

    async with phone_stack(line, rasa.url, queueing_desk) as stack:
        stack.line.requests = requests
        yield stack.line


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
