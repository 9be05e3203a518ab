"""The phone line with the real agent pool (agent_console, the handoff contract's implementation):
nobody on duty gives a real callback ticket for the caller's number; an agent on duty who grabs the
waiting caller is dialled at once. SQLite; Rasa and Twilio's REST API are local fakes."""
from __future__ import annotations

import time
import uuid

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent_console import claims, duty
from agent_console.context import Console
from agent_console.models import CallbackTicket
from channels.voice.phone_line import PhoneLine
from core.services import services_of
from staff import accounts, passwords
from staff.audit import SYSTEM
from staff.auth import Me
from staff.models import Role
from tests.channels.voice.phone_fakes import PUBLIC_BASE, TwilioCaller
from tests.channels.voice.twiml_helpers import next_url, parse, spoken


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    # Production-cost hashing would make creating a test agent take seconds.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def new_caller(client) -> TwilioCaller:
    return TwilioCaller(client, call_sid="CA" + uuid.uuid4().hex, caller=f"+86137{uuid.uuid4().int % 10**8:08d}")


def test_nobody_on_duty_makes_a_real_callback_ticket_for_the_caller(app_client):
    caller = new_caller(app_client)
    root = parse(caller.call("/voice/twilio/inbound"))
    root = parse(caller.post(next_url(root), {"SpeechResult": "公积金贷款怎么申请", "Confidence": "0.9"}))
    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    assert root.find("Record") is not None
    call = app_client.portal.call(services_of(app_client.app).get(PhoneLine).calls.get, caller.call_sid)

    async def ticket():
        async with services_of(app_client.app).get(async_sessionmaker)() as session:
            return await session.scalar(select(CallbackTicket).where(CallbackTicket.id == call.ticket_id))

    found = app_client.portal.call(ticket)
    assert found.conversation_id == call.conversation_id and found.contact == caller.caller
    assert "公积金贷款怎么申请" in found.question


def test_an_agent_who_grabs_the_waiting_caller_is_dialled(app_client, fake_twilio):
    console = services_of(app_client.app).get(Console)

    async def agent_on_duty():
        made = await accounts.create(console, username=f"phone-{uuid.uuid4().hex[:6]}", password="secret-pass-1",
                                     role=Role.AGENT, capacity=3, display_name="客服小王", phone="+863101112222",
                                     actor=SYSTEM)
        me = Me(id=made.id, username=made.username, display_name=made.display_name, role=made.role,
                capacity=made.capacity, skills=(), phone=made.phone, session_id="test", ip=None)
        await duty.apply(console, me, 60)
        return me

    me = app_client.portal.call(agent_on_duty)
    caller = new_caller(app_client)
    root = parse(caller.call("/voice/twilio/inbound"))
    root = parse(caller.post(next_url(root), {"Digits": "0"}))
    enqueue = root.find("Enqueue")
    assert enqueue is not None, spoken(root)
    call = app_client.portal.call(services_of(app_client.app).get(PhoneLine).calls.get, caller.call_sid)

    app_client.portal.call(claims.claim, console, me, call.conversation_id)
    deadline = time.monotonic() + 5
    while not [u for u in fake_twilio.call_updates if u["call_sid"] == caller.call_sid] and time.monotonic() < deadline:
        time.sleep(0.05)
    update = [u for u in fake_twilio.call_updates if u["call_sid"] == caller.call_sid][-1]
    assert update["Url"] == f"{PUBLIC_BASE}/voice/twilio/connect"
    root = parse(caller.post(update["Url"]))
    assert root.find("Dial").find("Number").text == "+863101112222" and "客服小王" in spoken(root)
