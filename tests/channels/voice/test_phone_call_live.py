"""A whole call against the real trained Rasa (the `live_service` fixture): greeting, two spoken
questions answered for the ear, a request for a person with nobody on duty, a message and a callback
number that become a callback ticket, and the call's status stored at the end. The agent pool is the
handoff contract's stand-in (its on-duty state has to be controlled); Twilio's REST API is the fake."""
from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from channels.voice.phone_line import PhoneLine
from conversations.hub import Hub
from conversations.models import Author
from core.services import services_of
from server.app import create_app
from tests.channels.voice.conftest import phone_settings
from tests.channels.voice.phone_fakes import TwilioCaller, fake_pool
from tests.channels.voice.twiml_helpers import gather, next_url, parse, spoken

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def live_client(live_service, fake_twilio, tmp_path_factory, voice_index_dir):
    settings = phone_settings(
        tmp_path_factory.mktemp("live-phone"), voice_index_dir, live_service.rasa_url, fake_twilio.url,
        bot_timeout_s=5.0,
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def pool(live_client):
    """The fake agent pool on this file's app (the suite's `pool` serves the other one)."""
    with fake_pool(live_client) as fake:
        yield fake


def assert_for_the_ear(text: str) -> None:
    assert text and not re.search(r"\d|https?:|www\.|\*\*|#|\|", text), text


def test_a_whole_call_from_greeting_to_a_callback_ticket(live_client, pool, fake_twilio):
    pool.on_duty = False
    caller = TwilioCaller(live_client, call_sid="CA" + uuid.uuid4().hex, caller="+8613512345678")
    root = parse(caller.call("/voice/twilio/inbound"))
    assert gather(root).get("language") == "cmn-Hans-CN"

    answers = []
    for question in ("租房提取公积金需要什么材料", "公积金贷款利率现在是多少"):
        root = parse(caller.post(next_url(root), {"SpeechResult": question, "Confidence": "0.87"}))
        said = spoken(root)
        assert_for_the_ear(said)
        assert gather(root).find("Say") is not None and said.endswith("请问还有什么可以帮您？")
        answers.append(said)
    assert "租房" in answers[0] and "利率" in answers[1]

    conversation_id = live_client.portal.call(services_of(live_client.app).get(PhoneLine).calls.get, caller.call_sid).conversation_id
    if "请按一" in answers[1]:  # the answer had a link: take the SMS
        sent = len(fake_twilio.messages)
        root = parse(caller.post(next_url(root), {"Digits": "1"}))
        assert "短信已经发送" in spoken(root) and len(fake_twilio.messages) == sent + 1

    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    assert root.find("Record") is not None and pool.requests[-1]["conversation_id"] == conversation_id
    root = parse(caller.post(next_url(root), {"RecordingUrl": "https://api.twilio.com/rec/RE9", "RecordingDuration": "8"}))
    root = parse(caller.post(next_url(root), {"Digits": "1"}))
    assert "已为您登记回拨" in spoken(root)
    assert pool.tickets == [{"conversation_id": conversation_id, "contact": caller.caller}]
    assert caller.call("/voice/twilio/status", {"CallStatus": "completed", "CallDuration": "140"}).status_code == 204

    history = live_client.portal.call(services_of(live_client.app).get(Hub).history, conversation_id)
    authors = [m.author for m in history]
    assert authors[:2] == [Author.CITIZEN, Author.BOT] and authors[-1] == Author.SYSTEM
    assert caller.caller in history[-1].text
    call = live_client.portal.call(services_of(live_client.app).get(PhoneLine).calls.get, caller.call_sid)
    assert (call.status, call.duration_s, call.stage) == ("completed", 140, "ended")
