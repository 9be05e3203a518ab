"""The phone line's webhooks, driven as Twilio drives them (signed form POSTs), through the real app on
SQLite. Rasa is a scripted fake here (control over links and timing); the agent pool is the handoff
contract's stand-in. The TwiML that comes back is read as XML."""
from __future__ import annotations

import time
import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from channels.voice.models import VoiceCall, VoiceCallEvent
from channels.voice.phone_line import PhoneLine
from conversations.events import Claimed
from conversations.hub import Hub
from conversations.models import Author, Channel, Conversation, Identity
from conversations.replies import Reply
from core.bus import EventBus
from core.services import services_of
from tests.channels.voice.phone_fakes import PUBLIC_BASE, TwilioCaller, desk, sign
from tests.channels.voice.twiml_helpers import gather, next_url, parse, spoken

LINK_QUESTION = "租房提取怎么办"
LINK_REPLY = {
    "text": "**租房提取**：每月最多提取1,500元。\n1. 身份证\n2. 租房合同\n详见 https://gjj.example.cn/rent",
    "links": [{"title": "租房提取网上办理", "url": "https://gjj.example.cn/rent"}],
}


@pytest.fixture
def caller(app_client, rasa) -> TwilioCaller:
    rasa.scripted[LINK_QUESTION] = LINK_REPLY
    return TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex, caller=f"+86139{uuid.uuid4().int % 10**8:08d}")


def run(client, fn, *args):
    return client.portal.call(fn, *args)


def call_row(client, call_sid: str) -> VoiceCall | None:
    async def load():
        async with services_of(client.app).get(async_sessionmaker)() as session:
            return await session.get(VoiceCall, call_sid)

    return run(client, load)


def messages(client, conversation_id: str):
    return run(client, services_of(client.app).get(Hub).history, conversation_id)


def answer(caller: TwilioCaller):
    """Pick up: the greeting's TwiML."""
    return parse(caller.call("/voice/twilio/inbound"))


# -- greeting, listening, speaking -------------------------------------------------------------

def test_greeting_listens_for_mandarin_speech_and_keys_with_barge_in(caller, app_client):
    root = answer(caller)
    listen = gather(root)
    assert listen.get("input") == "speech dtmf"
    assert listen.get("language") == "cmn-Hans-CN"
    assert listen.get("bargeIn") == "true" and listen.get("actionOnEmptyResult") == "true"
    assert listen.get("numDigits") == "1" and listen.get("speechTimeout") == "auto"
    assert listen.get("action") == f"{PUBLIC_BASE}/voice/twilio/gather?s=0"
    says = listen.findall("Say")  # inside the Gather: the caller can interrupt the greeting
    assert says and all(s.get("language") == "zh-CN" and s.get("voice") == "Polly.Zhiyu" for s in says)
    assert "公积金" in spoken(root) and "零" in spoken(root)

    call = call_row(app_client, caller.call_sid)
    assert call.caller == caller.caller and call.answered_at is not None

    async def linked():
        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            conversation = await session.get(Conversation, call.conversation_id)
            identity = await session.scalar(select(Identity).where(Identity.citizen_id == conversation.citizen_id))
            return conversation, identity

    conversation, identity = run(app_client, linked)
    assert conversation.channel == Channel.PHONE
    assert (identity.kind, identity.value) == ("phone", caller.caller)


def test_each_call_is_its_own_conversation_linked_to_the_number(app_client, rasa):
    number = "+8613700001111"
    first = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex, caller=number)
    second = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex, caller=number)
    answer(first)
    answer(second)
    one, two = call_row(app_client, first.call_sid), call_row(app_client, second.call_sid)
    assert one.conversation_id != two.conversation_id

    async def citizens():
        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            a = await session.get(Conversation, one.conversation_id)
            b = await session.get(Conversation, two.conversation_id)
            return a.citizen_id, b.citizen_id, a.status

    citizen_a, citizen_b, first_status = run(app_client, citizens)
    assert citizen_a == citizen_b and first_status == "closed"


def test_a_spoken_question_is_answered_for_the_ear_and_offered_by_sms(caller, app_client, rasa, fake_twilio):
    root = answer(caller)
    root = parse(caller.post(next_url(root), {"SpeechResult": LINK_QUESTION, "Confidence": "0.91"}))
    said = spoken(root)
    assert "一千五百元" in said and "身份证" in said
    assert "http" not in said and "**" not in said and "gjj.example" not in said
    assert "请按一" in said  # the SMS offer
    assert rasa.received[-1]["message"] == LINK_QUESTION
    assert next_url(root) == f"{PUBLIC_BASE}/voice/twilio/gather?s=1"

    sent_before = len(fake_twilio.messages)
    root = parse(caller.post(next_url(root), {"Digits": "1"}))
    assert "短信已经发送" in spoken(root)
    assert len(fake_twilio.messages) == sent_before + 1
    sms = fake_twilio.messages[-1]
    assert sms["To"] == caller.caller and sms["From"] == "+863108888888"
    assert "https://gjj.example.cn/rent" in sms["Body"]
    # The offer was used: a second 1 is the key menu's "policy questions", not another SMS.
    root = parse(caller.post(next_url(root), {"Digits": "1"}))
    assert len(fake_twilio.messages) == sent_before + 1 and "政策问题" in spoken(root)

    history = messages(app_client, call_row(app_client, caller.call_sid).conversation_id)
    assert [m.author for m in history] == [Author.CITIZEN, Author.BOT]


def test_sms_refused_by_twilio_is_apologised_for(app_client, rasa, fake_twilio, monkeypatch, caller):
    root = answer(caller)
    root = parse(caller.post(next_url(root), {"SpeechResult": LINK_QUESTION}))
    rest = services_of(app_client.app).get(PhoneLine).rest
    monkeypatch.setattr(rest._client, "password", "wrong-token")
    monkeypatch.setattr(rest._client, "auth", (rest._client.username, "wrong-token"))
    refused = fake_twilio.refused
    root = parse(caller.post(next_url(root), {"Digits": "1"}))
    assert fake_twilio.refused == refused + 1
    assert "没有发送成功" in spoken(root) and gather(root) is not None


def test_silence_gets_one_reprompt_then_the_menu_then_goodbye(caller):
    root = answer(caller)
    root = parse(caller.post(next_url(root)))
    assert "您还在吗" in spoken(root)
    root = parse(caller.post(next_url(root)))
    menu = spoken(root)
    assert all(word in menu for word in ("政策咨询请按一", "贷款计算请按二", "办理进度查询请按三", "人工服务请按零"))
    root = parse(caller.post(next_url(root)))
    assert "再见" in spoken(root) and root.find("Hangup") is not None and root.find("Gather") is None


def test_a_caller_who_only_presses_keys(caller, app_client, rasa):
    root = answer(caller)
    root = parse(caller.post(next_url(root), {"Digits": "7"}))  # no such key: the menu
    assert "贷款计算请按二" in spoken(root)
    root = parse(caller.post(next_url(root), {"Digits": "2"}))
    assert rasa.received[-1]["message"] == "我想算一下公积金贷款"
    assert "收到" in spoken(root)
    root = parse(caller.post(next_url(root), {"Digits": "3"}))
    assert rasa.received[-1]["message"] == "怎么查询公积金业务办理进度"
    root = parse(caller.post(next_url(root), {"Digits": "1"}))
    assert "政策问题" in spoken(root)
    root = parse(caller.post(next_url(root), {"Digits": "#"}))
    assert "人工服务请按零" in spoken(root)


def test_gibberish_is_not_sent_to_the_bot_and_leads_to_the_menu(caller, rasa):
    root = answer(caller)
    before = len(rasa.received)
    root = parse(caller.post(next_url(root), {"SpeechResult": "呃啊嗯哦", "Confidence": "0.08"}))
    assert "没有听清楚" in spoken(root)
    root = parse(caller.post(next_url(root), {"SpeechResult": "啊巴巴", "Confidence": "0.11"}))
    assert "人工服务请按零" in spoken(root)
    assert len(rasa.received) == before


# -- security and state ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "forgery",
    ["unsigned", "wrong_token", "tampered_params", "other_host", "tampered_step"],
)
def test_forged_webhooks_are_refused_and_nothing_is_done(app_client, rasa, forgery):
    caller = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex)
    url = f"{PUBLIC_BASE}/voice/twilio/inbound"
    if forgery == "unsigned":
        response = app_client.post("/voice/twilio/inbound", data=caller.base_params())
    elif forgery == "wrong_token":
        response = caller.post(url, token="not-the-auth-token-00000000000000")
    elif forgery == "tampered_params":
        params = caller.base_params()
        signature = sign(url, params)
        params["From"] = "+8613900000000"
        response = app_client.post("/voice/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})
    elif forgery == "other_host":
        response = caller.post(url, signed_url="https://evil.example.com/voice/twilio/inbound")
    else:
        answer(caller)
        received = len(rasa.received)
        signed = f"{PUBLIC_BASE}/voice/twilio/gather?s=0"
        params = caller.base_params() | {"SpeechResult": "你好"}
        response = app_client.post(
            "/voice/twilio/gather?s=5", data=params, headers={"X-Twilio-Signature": sign(signed, params)}
        )
        assert response.status_code == 403 and len(rasa.received) == received
        assert call_row(app_client, caller.call_sid).step == 0
        return
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert call_row(app_client, caller.call_sid) is None


def test_a_replayed_webhook_acts_once_and_gets_the_same_answer(caller, app_client, rasa):
    root = answer(caller)
    url = next_url(root)
    params = {"SpeechResult": "公积金怎么提取", "Confidence": "0.9"}
    before = len(rasa.received)
    first = caller.post(url, params)
    again = caller.post(url, params)
    assert first.text == again.text and parse(again) is not None
    assert len(rasa.received) == before + 1
    conversation_id = call_row(app_client, caller.call_sid).conversation_id
    citizen = [m for m in messages(app_client, conversation_id) if m.author == Author.CITIZEN]
    assert len(citizen) == 1
    assert call_row(app_client, caller.call_sid).step == 1


def test_replayed_inbound_returns_the_greeting_without_a_second_record(caller, app_client):
    first = caller.call("/voice/twilio/inbound")
    again = caller.call("/voice/twilio/inbound")
    assert first.text == again.text
    assert call_row(app_client, caller.call_sid).step == 0


def test_unknown_call_ids_start_over_at_the_greeting(app_client):
    stranger = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex)
    root = parse(stranger.call("/voice/twilio/gather?s=3", {"SpeechResult": "你好"}))
    assert root.find("Redirect").text == f"{PUBLIC_BASE}/voice/twilio/inbound"
    assert call_row(app_client, stranger.call_sid) is None


def test_missing_fields_get_a_polite_end_not_an_error(app_client):
    url = f"{PUBLIC_BASE}/voice/twilio/inbound"
    params = {"AccountSid": "AC0", "From": "+8613800000000"}
    response = app_client.post("/voice/twilio/inbound", data=params, headers={"X-Twilio-Signature": sign(url, params)})
    root = parse(response)
    assert root.find("Hangup") is not None and spoken(root)
    caller = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex)
    response = caller.call("/voice/twilio/gather")  # no step
    assert response.status_code == 422


def test_a_failing_webhook_apologises_and_offers_a_person(caller, app_client, monkeypatch, pool):
    root = answer(caller)

    async def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services_of(app_client.app).get(Hub), "receive", broken)
    root = parse(caller.post(next_url(root), {"SpeechResult": "公积金余额怎么查"}))
    assert "抱歉" in spoken(root) and "人工服务请按零" in spoken(root)
    assert next_url(root) == f"{PUBLIC_BASE}/voice/twilio/rescue"
    monkeypatch.undo()
    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    assert root.find("Enqueue") is not None and len(pool.requests) == 1


def test_status_callbacks_are_stored_once_and_close_the_conversation(caller, app_client):
    answer(caller)
    completed = {"direction": "inbound", "outcome": "completed"}
    counted = REGISTRY.get_sample_value("hpf_calls_total", completed) or 0.0
    assert caller.call("/voice/twilio/status", {"CallStatus": "in-progress", "SequenceNumber": "0"}).status_code == 204
    done = {"CallStatus": "completed", "CallDuration": "95", "SequenceNumber": "1"}
    assert caller.call("/voice/twilio/status", done).status_code == 204
    assert caller.call("/voice/twilio/status", done).status_code == 204  # a retry: stored once
    assert REGISTRY.get_sample_value("hpf_calls_total", completed) == counted + 1, "counted once on /metrics"
    call = call_row(app_client, caller.call_sid)
    assert call.status == "completed" and call.duration_s == 95 and call.completed_at and call.answered_at
    assert call.stage == "ended"

    async def state():
        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            events = await session.scalar(
                select(func.count()).select_from(VoiceCallEvent).where(VoiceCallEvent.call_sid == caller.call_sid)
            )
            return events, (await session.get(Conversation, call.conversation_id)).status

    assert run(app_client, state) == (2, "closed")


def test_status_callbacks_for_unknown_calls_or_without_fields_are_refused(app_client):
    stranger = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex)
    response = stranger.call("/voice/twilio/status", {"CallStatus": "completed"})
    assert response.status_code == 404 and response.json()["code"] == "unknown_call"
    response = stranger.call("/voice/twilio/status", {"CallStatus": ""})
    assert response.status_code == 422


def test_hold_audio_is_a_wav_file(app_client):
    response = app_client.get("/voice/twilio/hold.wav")
    assert response.status_code == 200 and response.content[:4] == b"RIFF" and len(response.content) > 100_000


def test_queue_position_pushes_reach_the_wait_url(caller, app_client, pool):
    root = answer(caller)
    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    enqueue = root.find("Enqueue")
    call = call_row(app_client, caller.call_sid)
    assert enqueue.text == f"hpf-{call.conversation_id}"
    assert enqueue.get("waitUrl") == f"{PUBLIC_BASE}/voice/twilio/wait"
    assert "前面还有两位" in spoken(root)
    wait = parse(caller.post(enqueue.get("waitUrl"), {"QueuePosition": "1", "QueueTime": "5"}))
    assert "前面还有两位" in spoken(wait) and "三分钟" in spoken(wait) and wait.find("Play") is not None
    update = Reply(text="您前面还有0位", meta={"queue": {"position": 1, "estimated_wait_s": 30}})
    run(app_client, lambda: services_of(app_client.app).get(Hub).send(call.conversation_id, Channel.PHONE, Author.SYSTEM, update,
                                                          push=True))
    wait = parse(caller.post(enqueue.get("waitUrl"), {"QueuePosition": "1", "QueueTime": "35"}))
    assert "下一位就是您" in spoken(wait) and "一分钟" in spoken(wait)
    caller.call("/voice/twilio/status", {"CallStatus": "completed", "CallDuration": "60"})
    assert not services_of(app_client.app).get(PhoneLine).watcher.watching(caller.call_sid)


def test_a_claimed_call_is_pulled_from_the_queue_to_the_agent(caller, app_client, pool, fake_twilio):
    root = answer(caller)
    root = parse(caller.post(next_url(root), {"SpeechResult": "我要转人工", "Confidence": "0.9"}))
    enqueue = root.find("Enqueue")
    assert enqueue is not None and pool.requests[-1]["contact"] == caller.caller
    call = call_row(app_client, caller.call_sid)
    conversation_id = call.conversation_id
    said = [m.text for m in messages(app_client, conversation_id) if m.author == Author.CITIZEN]
    assert said == ["我要转人工"]  # kept for the agent's transcript; the paused bot did not answer

    bus = services_of(app_client.app).get(EventBus)
    claimed = Claimed(agent_id=7, agent_name="王芳")
    run(app_client, bus.publish, f"conversation:{conversation_id}", claimed)
    deadline = time.monotonic() + 5
    while not [u for u in fake_twilio.call_updates if u["call_sid"] == caller.call_sid] and time.monotonic() < deadline:
        time.sleep(0.05)
    update = [u for u in fake_twilio.call_updates if u["call_sid"] == caller.call_sid][-1]
    assert update["Url"] == f"{PUBLIC_BASE}/voice/twilio/connect" and update["Method"] == "POST"
    assert not services_of(app_client.app).get(PhoneLine).watcher.watching(caller.call_sid)

    root = parse(caller.post(update["Url"]))
    dial = root.find("Dial")
    assert dial.find("Client").text == "agent-7" and "王芳" in spoken(root)
    # Had the redirect been lost, the next wait request would leave the queue for the same Dial.
    wait = parse(caller.post(enqueue.get("waitUrl"), {"QueuePosition": "1"}))
    assert wait.find("Leave") is not None
    root = parse(caller.post(dial.get("action"), {"DialCallStatus": "completed", "DialCallDuration": "120"}))
    assert "再见" in spoken(root) and root.find("Hangup") is not None


def test_an_agent_phone_number_in_the_claim_is_dialled(caller, app_client, pool):
    root = answer(caller)
    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    run(app_client, services_of(app_client.app).get(PhoneLine)._claimed, caller.call_sid,
        Claimed(agent_id=9, agent_name="李强", agent_phone="+863101234567"))
    root = parse(caller.post(root.find("Enqueue").get("action"), {"QueueResult": "leave"}))
    assert root.find("Dial").find("Number").text == "+863101234567"


def test_the_console_browser_phone_takes_the_caller_from_the_conversation_queue(caller, app_client, pool):
    root = answer(caller)
    parse(caller.post(next_url(root), {"Digits": "0"}))
    conversation_id = call_row(app_client, caller.call_sid).conversation_id
    agent = TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex, caller="client:agent-7")
    refused = parse(agent.call("/voice/twilio/agent", {"ConversationId": conversation_id}))
    assert refused.find("Dial") is None  # still waiting: nobody claimed it yet

    async def claim():
        from conversations.lifecycle import transition
        from conversations.models import ConversationStatus

        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            await transition(session, conversation_id, ConversationStatus.HUMAN)
            await session.commit()

    run(app_client, claim)
    root = parse(agent.call("/voice/twilio/agent", {"ConversationId": conversation_id}))
    assert root.find("Dial").find("Queue").text == f"hpf-{conversation_id}"


def test_nobody_on_duty_the_caller_leaves_a_message_and_a_number(caller, app_client, pool):
    pool.on_duty = False
    root = answer(caller)
    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    record = root.find("Record")
    assert record is not None and record.get("finishOnKey") == "#" and "九点到十七点" in spoken(root)
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1"
    root = parse(caller.post(record.get("action"), {"RecordingUrl": recording, "RecordingDuration": "12"}))
    keys = gather(root)
    assert keys.get("input") == "dtmf" and keys.get("finishOnKey") == "#"
    assert caller.caller[-4:] not in spoken(root) and "尾号" in spoken(root)
    root = parse(caller.post(keys.get("action"), {"Digits": "12"}))  # too short: asked again once
    assert "号码格式不正确" in spoken(root)
    root = parse(caller.post(gather(root).get("action"), {"Digits": "03101234567#"}))
    assert "已为您登记回拨" in spoken(root) and root.find("Hangup") is not None
    assert pool.tickets[-1]["contact"] == caller.caller
    call = call_row(app_client, caller.call_sid)
    assert call.callback_number == "03101234567" and call.recording_url == recording and call.ticket_id
    note = [m for m in messages(app_client, call.conversation_id) if m.author == Author.SYSTEM][-1]
    assert "03101234567" in note.text and recording in note.text
    assert note.payload["callback"]["ticket_id"] == call.ticket_id


def test_without_the_agent_pool_the_caller_can_still_leave_a_message(caller, app_client):
    root = answer(caller)
    with desk(app_client, None):  # no agent side in this service
        root = parse(caller.post(next_url(root), {"Digits": "0"}))
    assert "暂时无法转接" in spoken(root) and root.find("Record") is not None
    assert not services_of(app_client.app).get(PhoneLine).watcher.watching(caller.call_sid)


def test_callers_who_withhold_their_number_are_not_one_citizen(app_client, fake_twilio, rasa):
    calls = [TwilioCaller(app_client, call_sid="CA" + uuid.uuid4().hex, caller="+266696687") for _ in range(2)]
    for caller in calls:
        answer(caller)

    conversation_ids = [call_row(app_client, c.call_sid).conversation_id for c in calls]

    async def citizens():
        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            return {(await session.get(Conversation, cid)).citizen_id for cid in conversation_ids}

    assert len(run(app_client, citizens)) == 2
    rasa.scripted[LINK_QUESTION] = LINK_REPLY
    root = parse(calls[0].post(f"{PUBLIC_BASE}/voice/twilio/gather?s=0", {"SpeechResult": LINK_QUESTION}))
    sent = len(fake_twilio.messages)
    root = parse(calls[0].post(next_url(root), {"Digits": "1"}))
    assert "没有发送成功" in spoken(root) and len(fake_twilio.messages) == sent  # no number to send it to
