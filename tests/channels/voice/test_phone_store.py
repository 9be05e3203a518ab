"""Call state in the database, on SQLite and on a real PostgreSQL: one request wins each step of a call
however many arrive at once (replays act never), and each status callback is stored once."""
from __future__ import annotations

import asyncio

import pytest

from channels.voice.calls import CallStore
from channels.voice.models import VoiceCall
from conversations.hub import Hub
from conversations.models import Channel
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from server.app import _secrets
from tests.channels.voice.phone_fakes import AUTH_TOKEN


@pytest.fixture
async def store(database_url):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    hub = Hub(sessions, LocalBus(), bot=None, knowledge=None, hotline="12329", bot_deadline_s=1)
    conversation = await hub.open_conversation(channel=Channel.PHONE, kind="phone", value="+8613800001234")
    calls = CallStore(sessions)
    assert await calls.create(VoiceCall(call_sid="CA1", conversation_id=conversation.id, caller="+8613800001234",
                                        sms_links=[], last_twiml="<Response/>"))
    yield calls
    await engine.dispose()


async def test_exactly_one_request_wins_a_step(store: CallStore):
    winners = await asyncio.gather(*(store.claim("CA1", 0) for _ in range(8)))
    assert winners.count(True) == 1
    assert await store.claim("CA1", 0) is False           # a replay of step 0
    assert await store.claim("CA1", 1) is True            # the next step
    assert await store.claim("CA-unknown", 0) is False
    assert (await store.get("CA1")).step == 2


async def test_a_replay_waits_for_the_winner_s_answer(store: CallStore):
    assert await store.claim("CA1", 0)

    async def winner_finishes():
        await asyncio.sleep(0.3)
        await store.update("CA1", last_twiml="<Response><Say>答复</Say></Response>")

    finishing = asyncio.create_task(winner_finishes())
    assert await store.answer_of("CA1", wait_s=3) == "<Response><Say>答复</Say></Response>"
    await finishing


async def test_the_same_inbound_call_is_created_once(store: CallStore):
    again = VoiceCall(call_sid="CA1", conversation_id=(await store.get("CA1")).conversation_id, caller="x",
                      sms_links=[])
    assert await store.create(again) is False


async def test_status_callbacks_are_stored_once_with_answered_completed_and_duration(store: CallStore):
    assert await store.record_status("CA1", "in-progress", 0, None)
    assert await store.record_status("CA1", "completed", 1, 73)
    assert await store.record_status("CA1", "completed", 1, 73) is False
    call = await store.get("CA1")
    assert call.status == "completed" and call.duration_s == 73
    assert call.answered_at is not None and call.completed_at >= call.answered_at


def test_the_twilio_auth_token_is_masked_in_logs(tmp_path):
    assert AUTH_TOKEN in _secrets(Settings(data_dir=tmp_path, twilio_auth_token=AUTH_TOKEN))
