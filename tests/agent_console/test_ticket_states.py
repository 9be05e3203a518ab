"""The callback ticket's one door (`agent_console/ticket_states.py`), on SQLite and PostgreSQL: open →
claimed → done, `open_key` cleared at the end, the audit entries, the events; anything else raises
naming the states expected and found."""
from __future__ import annotations

import pytest

from agent_console import events, ticket_states
from agent_console.models import CallbackTicket, TicketState
from core.bus import Outbox
from staff import audit
from staff.auth import Me

T = TicketState


def _actor(me: Me) -> audit.Actor:
    return audit.Actor(me.id, me.username, me.role)


async def _ticket(world, ticket_id: int) -> CallbackTicket:
    async with world.console.sessions() as session:
        return await session.get(CallbackTicket, ticket_id)


async def _claim(world, me: Me, ticket_id: int) -> Outbox:
    async with world.console.sessions() as session, session.begin():
        return await ticket_states.claim(session, ticket_id, agent_id=me.id, actor=_actor(me))


async def _done(world, me: Me, ticket_id: int, note: str | None = None) -> Outbox:
    async with world.console.sessions() as session, session.begin():
        return await ticket_states.done(session, ticket_id, agent_id=me.id, actor=_actor(me), note=note)


async def _open_ticket(world, user: str) -> int:
    conversation_id, outcome = await world.ask_for_person(user)  # nobody on duty: a callback ticket
    assert outcome.outcome == "callback"
    return outcome.ticket_id


async def test_a_ticket_is_claimed_answered_and_done_by_one_agent(world):
    me = await world.agent("caller-back", on_duty=False)
    ticket_id = await _open_ticket(world, "t-citizen")
    outbox = await _claim(world, me, ticket_id)
    claimed = await _ticket(world, ticket_id)
    assert (claimed.state, claimed.agent_id, claimed.open_key) == (T.CLAIMED, me.id, claimed.conversation_id)
    assert claimed.claimed_at is not None
    ((topic, event),) = outbox.entries
    assert (topic, type(event)) == (events.POOL, events.TicketsChanged)
    assert event.ticket["ticket_id"] == ticket_id and event.ticket["state"] == T.CLAIMED
    # Every console on duty hears the pool topic: the taker's own page knows its claim by agent_id, and
    # no colleague learns the claimer's name.
    assert event.ticket["agent_id"] == me.id and "by" not in event.to_wire()
    assert me.display_name not in str(event.to_wire()) and me.username not in str(event.to_wire())

    async with world.console.sessions() as session, session.begin():
        ticket_states.reply(session, claimed, actor=_actor(me), chars=12)
    outbox = await _done(world, me, ticket_id, "已电话联系")
    done = await _ticket(world, ticket_id)
    assert (done.state, done.open_key, done.note) == (T.DONE, None, "已电话联系")
    assert done.done_at is not None
    ((topic, event),) = outbox.entries
    assert "by" not in event.to_wire() and event.to_wire()["ticket"]["state"] == T.DONE
    assert [a for _, a in await world.audit_actions(f"ticket:{ticket_id}")] == [
        "ticket_claim", "ticket_reply", "ticket_done",
    ]


async def test_illegal_ticket_changes_name_expected_and_found(world):
    me, other = await world.agent("first", on_duty=False), await world.agent("second", on_duty=False)
    ticket_id = await _open_ticket(world, "t-illegal")
    with pytest.raises(ticket_states.IllegalTransition) as early:
        await _done(world, me, ticket_id)
    assert (early.value.target, early.value.expected, early.value.found) == (T.DONE, frozenset({T.CLAIMED}), T.OPEN)
    await _claim(world, me, ticket_id)
    with pytest.raises(ticket_states.IllegalTransition) as taken:
        await _claim(world, other, ticket_id)
    assert taken.value.found == T.CLAIMED
    with pytest.raises(ticket_states.IllegalTransition) as not_theirs:
        await _done(world, other, ticket_id)
    assert not_theirs.value.found == T.CLAIMED
    with pytest.raises(ticket_states.IllegalTransition) as missing:
        await _claim(world, me, 999_999)
    assert missing.value.found is None
    ticket = await _ticket(world, ticket_id)
    assert (ticket.state, ticket.agent_id, ticket.open_key) == (T.CLAIMED, me.id, ticket.conversation_id)
    assert [a for _, a in await world.audit_actions(f"ticket:{ticket_id}")] == ["ticket_claim"]
