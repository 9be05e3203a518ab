"""The handoff's one door (`agent_console/handoff_states.py`), on SQLite and PostgreSQL: every allowed change
moves the handoff and its conversation together, clears `open_key` when the handoff is over, keeps the
assignments, writes the audit entry and returns the events it announces; an illegal change raises and
changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from agent_console import events, handoff_states
from agent_console.models import Assignment, Handoff, HandoffState
from conversations.events import Claimed, StatusChanged
from conversations.hub import conversation_topic
from conversations.lifecycle import transition
from conversations.models import ConversationStatus
from core.bus import Outbox
from core.states import IllegalTransition, allowed_before
from staff import audit
from staff.models import Agent
from tests.agent_console.helpers import collect

H = HandoffState
S = ConversationStatus


async def _handoff(world, conversation_id: str) -> Handoff:
    async with world.console.sessions() as session:
        return await session.scalar(
            select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc()).limit(1)
        )


async def _assignments(world, conversation_id: str) -> list[tuple[int, str, str | None]]:
    async with world.console.sessions() as session:
        rows = await session.execute(
            select(Assignment.agent_id, Assignment.how, Assignment.end)
            .where(Assignment.conversation_id == conversation_id).order_by(Assignment.id)
        )
        return [tuple(row) for row in rows.all()]


def _wire(outbox: Outbox) -> list[tuple[str, dict]]:
    return [(topic, event.to_wire()) for topic, event in outbox.entries]


async def _change(world, change, *args, **kwargs) -> Outbox:
    """Run one change in a transaction of its own, as the console's services do."""
    async with world.console.sessions() as session, session.begin():
        handoff = await session.get(Handoff, args[0].id)
        extra = [await session.get(Agent, a.id) if isinstance(a, Agent) else a for a in args[1:]]
        return await change(session, handoff, *extra, **kwargs)


async def _agent_row(world, name: str, **kwargs) -> Agent:
    me = await world.agent(name, **kwargs)
    async with world.console.sessions() as session:
        return await session.get(Agent, me.id)


async def _held(world, agent: Agent, user: str) -> Handoff:
    conversation_id, _ = await world.ask_for_person(user)
    await _change(world, handoff_states.claim, await _handoff(world, conversation_id), agent,
                  audit.Actor(agent.id, agent.username, agent.role))
    return await _handoff(world, conversation_id)


async def test_a_claim_takes_the_waiting_handoff_for_one_agent(world):
    agent = await _agent_row(world, "grabber")
    conversation_id, _ = await world.ask_for_person("c-claim")
    waiting = await _handoff(world, conversation_id)
    outbox = await _change(world, handoff_states.claim, waiting, agent, audit.Actor(agent.id, agent.username, "agent"))
    held = await _handoff(world, conversation_id)
    assert (held.state, held.agent_id, held.open_key) == (H.ASSIGNED, agent.id, conversation_id)
    assert held.claimed_at is not None
    assert await world.status(conversation_id) == S.HUMAN
    assert await _assignments(world, conversation_id) == [(agent.id, "grab", None)]
    assert ("grabber", "grab") in await world.audit_actions(f"conversation:{conversation_id}")
    assert _wire(outbox) == [
        (events.POOL, {"type": "pool.removed", "conversation_id": conversation_id, "reason": "claimed",
                       "agent_id": agent.id}),
        (events.agent_topic(agent.id), {"type": "assigned", "conversation_id": conversation_id, "how": "grab",
                                        "note": None, "by": None}),
        (conversation_topic(conversation_id), {"type": "claimed", "agent_id": agent.id,
                                               "agent_name": agent.display_name, "agent_phone": None}),
    ]


async def test_the_announced_events_reach_their_subscribers_once_published(world):
    agent = await _agent_row(world, "announced")
    conversation_id, _ = await world.ask_for_person("c-publish")
    outbox = await _change(world, handoff_states.push, await _handoff(world, conversation_id), agent)
    topics = (events.POOL, events.agent_topic(agent.id), conversation_topic(conversation_id))
    async with world.bus.subscribe(*topics) as inbox:
        await outbox.publish(world.bus)
        got = await collect(inbox, 0.2)
    assert [(type(e), e.topic) for e in got] == [
        (events.PoolRemoved, events.POOL), (events.Assigned, events.agent_topic(agent.id)),
        (Claimed, conversation_topic(conversation_id)),
    ]
    assert got[1].how == "push"
    assert ("system", "push") in await world.audit_actions(f"conversation:{conversation_id}")


async def test_a_transfer_moves_the_handoff_and_the_assignment_to_the_colleague(world):
    first, second = await _agent_row(world, "giver"), await _agent_row(world, "taker")
    held = await _held(world, first, "c-transfer")
    cid = held.conversation_id
    outbox = await _change(world, handoff_states.transfer, held, second, from_agent_id=first.id,
                           actor=audit.Actor(first.id, "giver", "agent"), by=first.display_name, note="请协助")
    moved = await _handoff(world, cid)
    assert (moved.state, moved.agent_id, moved.note, moved.open_key) == (H.ASSIGNED, second.id, "请协助", cid)
    assert await _assignments(world, cid) == [(first.id, "grab", "transferred"), (second.id, "transfer", None)]
    assert ("giver", "transfer") in await world.audit_actions(f"conversation:{cid}")
    assert _wire(outbox) == [
        (events.agent_topic(second.id), {"type": "assigned", "conversation_id": cid, "how": "transfer",
                                         "note": "请协助", "by": first.display_name}),
        (conversation_topic(cid), {"type": "claimed", "agent_id": second.id, "agent_name": second.display_name,
                                   "agent_phone": None}),
        (events.agent_topic(first.id), {"type": "released", "conversation_id": cid, "reason": "transferred"}),
    ]


async def test_a_return_puts_the_handoff_back_in_the_pool_in_its_first_place(world):
    agent = await _agent_row(world, "leaver")
    held = await _held(world, agent, "c-return")
    cid = held.conversation_id
    outbox = await _change(world, handoff_states.return_to_pool, held, from_agent_id=agent.id, actor=audit.SYSTEM,
                           reason="agent_offline")
    back = await _handoff(world, cid)
    assert (back.state, back.agent_id, back.open_key, back.escalated_at) == (H.WAITING, None, cid, None)
    assert back.queued_at == held.queued_at and back.waiting_since > held.waiting_since
    assert await world.status(cid) == S.WAITING
    assert await _assignments(world, cid) == [(agent.id, "grab", "returned")]
    assert ("system", "return") in await world.audit_actions(f"conversation:{cid}")
    (pool_topic, added), (agent_topic, released) = outbox.entries
    assert (pool_topic, type(added), added.item["conversation_id"]) == (events.POOL, events.PoolAdded, cid)
    assert added.item["preview"] == "我要转人工"
    assert (agent_topic, released.reason) == (events.agent_topic(agent.id), "agent_offline")


async def test_finishing_hands_back_to_the_bot_and_frees_the_conversation(world):
    agent = await _agent_row(world, "finisher")
    held = await _held(world, agent, "c-finish")
    cid = held.conversation_id
    outbox = await _change(world, handoff_states.finish, held, agent_id=agent.id,
                           actor=audit.Actor(agent.id, "finisher", "agent"), bot_resumed=False)
    done = await _handoff(world, cid)
    assert (done.state, done.open_key, done.end_reason, done.resume_pending) == (H.FINISHED, None, "finished", True)
    assert done.finished_at is not None and done.rating_requested_at is not None
    assert await world.status(cid) == S.BOT
    assert await _assignments(world, cid) == [(agent.id, "grab", "finished")]
    assert ("finisher", "finish") in await world.audit_actions(f"conversation:{cid}")
    assert [(topic, type(e)) for topic, e in outbox.entries] == [
        (conversation_topic(cid), StatusChanged), (events.agent_topic(agent.id), events.Released),
        (events.SUPERVISORS, events.StatsChanged),
    ]
    assert outbox.entries[0][1].to_wire() == {"type": "status", "status": "bot"}
    assert outbox.entries[1][1].to_wire() == {"type": "released", "conversation_id": cid, "reason": "finished"}
    # the rating is stored once
    assert isinstance((await _rate(world, done.id, 5)).entries[0][1], events.StatsChanged)
    assert await _rate(world, done.id, 1) is None
    assert (await _handoff(world, cid)).rating == 5


async def _rate(world, handoff_id: int, score: int) -> Outbox | None:
    async with world.console.sessions() as session, session.begin():
        return await handoff_states.rate(session, handoff_id, score)


async def test_a_citizen_who_leaves_a_message_cancels_the_waiting_handoff(world):
    await world.agent("on-duty")
    conversation_id, _ = await world.ask_for_person("c-message")
    outbox = await _change(world, handoff_states.cancel_for_message, await _handoff(world, conversation_id))
    gone = await _handoff(world, conversation_id)
    assert (gone.state, gone.open_key, gone.end_reason) == (H.CANCELLED, None, "message")
    assert await world.status(conversation_id) == S.BOT
    assert _wire(outbox) == [(events.POOL, {"type": "pool.removed", "conversation_id": conversation_id,
                                            "reason": "left"})]


async def test_a_conversation_the_channel_ended_cancels_its_handoff_and_frees_the_agent(world):
    agent = await _agent_row(world, "seat")
    held = await _held(world, agent, "c-hangup")
    cid = held.conversation_id
    async with world.console.sessions() as session, session.begin():  # the phone line, when the caller hangs up
        await transition(session, cid, S.CLOSED)
    outbox = await _change(world, handoff_states.cancel_abandoned, held)
    gone = await _handoff(world, cid)
    assert (gone.state, gone.open_key, gone.end_reason) == (H.CANCELLED, None, "left")
    assert await _assignments(world, cid) == [(agent.id, "grab", "closed")]
    assert ("system", "cancel") in await world.audit_actions(f"conversation:{cid}")
    assert _wire(outbox) == [
        (events.POOL, {"type": "pool.removed", "conversation_id": cid, "reason": "left"}),
        (events.agent_topic(agent.id), {"type": "released", "conversation_id": cid, "reason": "left"}),
    ]


async def test_an_illegal_change_names_expected_and_found_and_changes_nothing(world):
    agent, other = await _agent_row(world, "owner"), await _agent_row(world, "other")
    conversation_id, _ = await world.ask_for_person("c-illegal")
    waiting = await _handoff(world, conversation_id)
    with pytest.raises(handoff_states.IllegalTransition) as refused:
        await _change(world, handoff_states.transfer, waiting, other, from_agent_id=agent.id, actor=audit.SYSTEM,
                      by="x", note=None)
    assert (refused.value.target, refused.value.expected, refused.value.found) == (
        H.ASSIGNED, frozenset({H.ASSIGNED}), H.WAITING)
    assert "expected assigned" in str(refused.value) and "from waiting" in str(refused.value)
    with pytest.raises(IllegalTransition):  # the conversation is not held by anybody: refused before the handoff
        await _change(world, handoff_states.finish, waiting, agent_id=agent.id, actor=audit.SYSTEM, bot_resumed=True)
    held = await _held(world, agent, "c-illegal-2")
    with pytest.raises(handoff_states.IllegalTransition) as not_theirs:  # held, but by someone else
        await _change(world, handoff_states.return_to_pool, held, from_agent_id=other.id, actor=audit.SYSTEM,
                      reason="agent_offline")
    assert not_theirs.value.found == H.ASSIGNED
    assert (await _handoff(world, conversation_id)).state == H.WAITING
    assert await world.status(conversation_id) == S.WAITING
    unchanged = await _handoff(world, held.conversation_id)
    assert (unchanged.state, unchanged.agent_id) == (H.ASSIGNED, agent.id)
    assert await world.status(held.conversation_id) == S.HUMAN, "the conversation's move was rolled back too"


def test_nothing_follows_the_end_and_a_change_from_elsewhere_is_a_programming_error():
    for target, before in handoff_states.ALLOWED.items():
        assert before and not (before & handoff_states.OVER), target
    with pytest.raises(ValueError):
        allowed_before(handoff_states.ALLOWED, H.WAITING, frozenset({H.FINISHED}))
