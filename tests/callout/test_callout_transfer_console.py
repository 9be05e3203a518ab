"""A called person asks for a person and the real agent desk takes it: the pool's desk (registered as
the service registers it at start) queues the call; an agent on duty sees it in the waiting pool and
claims it; the attempt ends as transferred."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import partial

import pytest
from sqlalchemy import select

from agent_console import claims, pool
from agent_console.context import Console
from agent_console.handoff import request_handoff
from conversations.handoff import HandoffDesk
from conversations.models import Conversation, ConversationStatus
from tests.agent_console.helpers import World
from tests.callout.helpers import PUBLIC_BASE, PhoneStack, action, attempt, one_call, phone_stack


@pytest.fixture
async def desk(line, rasa):
    """The line with the hub, the phone line, and the agent console's own desk behind the handoff contract."""
    consoles: list[Console] = []

    def console_desk(stack: PhoneStack) -> HandoffDesk:
        console = Console(settings=line.callout.settings, sessions=stack.sessions, bus=stack.bus, hub=stack.hub,
                          bot=stack.bot, knowledge=None)
        consoles.append(console)
        return partial(request_handoff, console)  # as agent_console.startup does

    async with phone_stack(line, rasa.url, console_desk) as stack:
        yield stack.line, World(console=consoles[0], hub=stack.hub, bus=stack.bus, rasa=rasa)


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
