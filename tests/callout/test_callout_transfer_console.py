"""A called person asks for a person and the real agent desk takes it: the pool's desk (registered as
the service registers it at start) queues the call; an agent on duty sees it in the waiting pool and
claims it; the attempt ends as transferred."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy import select

from agent_console import claims, pool
from agent_console.context import Console
from agent_console.handoff import request_handoff
from channels.voice.phone_line import PhoneLine
from conversations.bot_client import RasaClient
from conversations.handoff import Handoffs
from conversations.hub import Hub
from conversations.models import Conversation, ConversationStatus
from core.bus import EventBus, LocalBus
from fakes.rasa import FakeRasa
from tests.agent_console.helpers import World
from tests.callout.helpers import PUBLIC_BASE, Line, campaign_app, client
from tests.callout.test_callout_talk import action, attempt, one_call


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    with FakeRasa() as fake:
        yield fake


@pytest.fixture
async def desk(line, rasa):
    """The line with the hub, the phone line, and the agent console's own desk behind the handoff contract."""
    bus = LocalBus()
    bot = RasaClient(rasa.url, timeout_s=2.0)
    sessions = line.callout.sessions
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=2.0)
    console = Console(settings=line.callout.settings, sessions=sessions, bus=bus, hub=hub, bot=bot, knowledge=None)
    handoffs = Handoffs()
    handoffs.register_desk(partial(request_handoff, console))  # as agent_console.startup does
    phone = PhoneLine(line.callout.settings, sessions=sessions, bus=bus, hub=hub, handoffs=handoffs)
    async with client(campaign_app(line.callout, (Hub, hub), (PhoneLine, phone), (EventBus, bus))) as api:
        yield Line(callout=line.callout, api=api, twilio=line.twilio, clock=line.clock), \
            World(console=console, hub=hub, bus=bus, rasa=rasa)
    await phone.watcher.close()
    await bot.close()


async def test_pressing_0_puts_the_person_in_the_pool_and_an_agent_claims_them(desk):
    talking, world = desk
    agent = await world.agent("duty1")  # on duty: the desk queues rather than leaving a callback ticket
    _, base = await one_call(talking)
    first = await talking.post(f"{PUBLIC_BASE}/callout/twilio/answer?a=1&s=0", base)
    queued = await talking.post(action(first.text), base | {"Digits": "0"})
    assert ET.fromstring(queued.text).find("Enqueue") is not None

    async with world.console.sessions() as session:
        conversation = await session.scalar(select(Conversation).where(Conversation.channel == "phone"))
        waiting = await pool.waiting_items(session)
    assert conversation is not None and conversation.status == ConversationStatus.WAITING
    assert [item["conversation_id"] for item in waiting] == [conversation.id]
    assert waiting[0]["channel"] == "phone"

    taken = await claims.claim(world.console, agent, conversation.id)
    assert (taken.conversation_id, taken.agent_id) == (conversation.id, agent.id)
    assert await world.status(conversation.id) == ConversationStatus.HUMAN
    async with world.console.sessions() as session:
        assert await pool.waiting_items(session) == []

    done = await talking.post(f"{PUBLIC_BASE}/callout/twilio/status?a=1", base | {"CallStatus": "completed",
                                                                                  "CallDuration": "95"})
    assert done.status_code == 204
    assert (await attempt(talking)).outcome == "transferred"
