"""The pool on SQLite and PostgreSQL: one winner per grab, capacity under concurrency, order and
priority, queue positions told to citizens, and the escalation push."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from agent_console import claims, events
from agent_console.background import Clock
from agent_console.models import Assignment, Handoff, HandoffState
from conversations.models import Author, ConversationStatus
from core.errors import ApiError
from tests.agent_console.helpers import collect


async def grab(world, me, conversation_id) -> int | str:
    try:
        await claims.claim(world.console, me, conversation_id)
        return 200
    except ApiError as error:
        return f"{error.status} {error.code}"


async def test_one_of_many_concurrent_grabbers_wins_and_the_rest_get_409(world):
    agents = [await world.agent(f"a{i}") for i in range(12)]
    conversation_id, outcome = await world.ask_for_person("citizen-1")
    assert outcome.outcome == "queued" and outcome.position == 1
    async with world.bus.subscribe(events.POOL) as pool_events:
        results = await asyncio.gather(*(grab(world, me, conversation_id) for me in agents))
        removed = [e for e in await collect(pool_events, 0.3) if e.type == "pool.removed"]
    assert results.count(200) == 1
    assert set(results) - {200} == {"409 already_taken"}
    winner = agents[results.index(200)]
    assert await world.status(conversation_id) == ConversationStatus.HUMAN
    async with world.console.sessions() as session:
        held = (await session.execute(select(Assignment.agent_id).where(Assignment.conversation_id == conversation_id))).all()
    assert held == [(winner.id,)]
    assert [(e.conversation_id, e.agent_id) for e in removed] == [(conversation_id, winner.id)]


async def test_a_grab_never_takes_an_agent_past_their_capacity(world):
    me = await world.agent("busy", capacity=2)
    waiting = [(await world.ask_for_person(f"c-{i}"))[0] for i in range(8)]
    results = await asyncio.gather(*(grab(world, me, c) for c in waiting))
    assert results.count(200) == 2
    assert set(results) - {200} == {"409 at_capacity"}
    async with world.console.sessions() as session:
        open_ = await session.scalar(select(func.count()).where(Assignment.agent_id == me.id, Assignment.ended_at.is_(None)))
    assert open_ == 2


async def test_grab_errors_for_taken_finished_and_unknown_conversations(world):
    first, second = await world.agent("first"), await world.agent("second")
    conversation_id, _ = await world.ask_for_person("c-err")
    assert await grab(world, first, conversation_id) == 200
    assert await grab(world, second, conversation_id) == "409 already_taken"
    assert await grab(world, second, "f" * 32) == "404 conversation_not_found"
    bot_only = await world.citizen("never-asked")
    assert await grab(world, second, bot_only.id) == "409 not_waiting"


async def test_off_duty_and_on_break_agents_cannot_grab(world):
    off = await world.agent("off", on_duty=False)
    await world.agent("someone")  # on duty: the citizen is queued
    conversation_id, outcome = await world.ask_for_person("c-duty")
    assert outcome.outcome == "queued"
    assert await grab(world, off, conversation_id) == "403 not_on_duty"


async def test_complaints_and_returning_citizens_go_first(world):
    me = await world.agent("sorter", capacity=5)
    plain, _ = await world.ask_for_person("plain")
    returning, _ = await world.ask_for_person("returning")
    await claims.claim(world.console, me, returning)
    from agent_console import conversations

    await conversations.finish(world.console, me, returning)
    again, outcome = await world.ask_for_person("returning", text="还是有问题")
    assert again == returning and outcome.position == 1, "handed back recently: ahead of the plain request"
    complaint, outcome = await world.ask_for_person("angry", reason="complaint", text="我要投诉")
    assert outcome.position == 1
    from agent_console.pool import waiting_items

    async with world.console.sessions() as session:
        order = [item["conversation_id"] for item in await waiting_items(session)]
    assert order == [complaint, returning, plain]


async def test_citizens_are_told_their_position_as_it_changes_exactly_once(world):
    me = await world.agent("teller", capacity=3)
    ids = [(await world.ask_for_person(f"q-{i}"))[0] for i in range(3)]
    await claims.claim(world.console, me, ids[0])
    # Two instances of the service run the clock at once: each change is told once.
    clocks = [Clock(world.console), Clock(world.console)]
    await asyncio.gather(*(clock.tell_positions() for clock in clocks))
    await asyncio.gather(*(clock.tell_positions() for clock in clocks))
    for conversation_id, position in ((ids[1], 1), (ids[2], 2)):
        updates = [m.payload["queue"] for m in await world.hub.history(conversation_id)
                   if m.author == Author.SYSTEM and "queue" in m.payload]
        assert [u["position"] for u in updates] == [position]
        assert updates[0]["estimated_wait_s"] is not None


async def test_nobody_grabs_so_the_least_busy_agent_gets_it_and_supervisors_hear(world):
    settings = world.console.settings
    loaded, idle = await world.agent("loaded", capacity=3), await world.agent("idle", capacity=3)
    early, _ = await world.ask_for_person("early")
    await claims.claim(world.console, loaded, early)
    late, _ = await world.ask_for_person("late")
    clock = Clock(world.console)
    async with world.bus.subscribe(events.SUPERVISORS, events.agent_topic(idle.id)) as watched:
        await clock.escalate()
        assert await world.status(late) == ConversationStatus.WAITING, "not overdue yet"
        settings.console_escalate_after_s = 0.2
        await asyncio.sleep(0.3)
        await asyncio.gather(clock.escalate(), Clock(world.console).escalate())  # two processes
        got = await collect(watched, 0.3)
    async with world.console.sessions() as session:
        handoff = await session.scalar(select(Handoff).where(Handoff.conversation_id == late))
    assert handoff.agent_id == idle.id and handoff.state == HandoffState.ASSIGNED
    alerts = [e for e in got if e.type == "alert"]
    assert len(alerts) == 1 and alerts[0].assigned_to == idle.display_name
    assert any(e.type == "assigned" and e.conversation_id == late for e in got)
    assert ("system", "push") in await world.audit_actions(f"conversation:{late}")


async def test_escalation_with_everyone_full_alerts_once_and_exceeds_no_capacity(world):
    world.console.settings.console_escalate_after_s = 0.1
    me = await world.agent("full", capacity=1)
    first, _ = await world.ask_for_person("first")
    await claims.claim(world.console, me, first)
    second, _ = await world.ask_for_person("second")
    await asyncio.sleep(0.2)
    clock = Clock(world.console)
    async with world.bus.subscribe(events.SUPERVISORS) as watched:
        for _ in range(3):
            await clock.escalate()
        alerts = [e for e in await collect(watched, 0.3) if e.type == "alert"]
    assert len(alerts) == 1 and alerts[0].assigned_to is None
    assert await world.status(second) == ConversationStatus.WAITING


async def test_a_conversation_the_channel_ended_leaves_the_pool(world):
    await world.agent("watcher")
    conversation_id, _ = await world.ask_for_person("hangs-up")
    from conversations.lifecycle import transition

    async with world.console.sessions() as session:  # e.g. the phone line when the caller hangs up
        await transition(session, conversation_id, ConversationStatus.CLOSED)
        await session.commit()
    async with world.bus.subscribe(events.POOL) as pool_events:
        await Clock(world.console).drop_abandoned()
        removed = await collect(pool_events, 0.2)
    assert [(e.type, e.reason) for e in removed] == [("pool.removed", "left")]
    async with world.console.sessions() as session:
        state = await session.scalar(select(Handoff.state).where(Handoff.conversation_id == conversation_id))
    assert state == HandoffState.CANCELLED


@pytest.mark.parametrize("reason", ["citizen_request", "failed_understanding", "complaint", "account_specific"])
async def test_every_reason_is_accepted_and_kept(world, reason):
    await world.agent("r")
    conversation_id, outcome = await world.ask_for_person(f"reason-{reason}", reason=reason)
    assert outcome.outcome == "queued"
    async with world.console.sessions() as session:
        assert await session.scalar(select(Handoff.reason).where(Handoff.conversation_id == conversation_id)) == reason


async def test_asking_again_while_waiting_or_served_changes_nothing(world):
    me = await world.agent("again")
    conversation_id, _ = await world.ask_for_person("twice")
    from agent_console.handoff import request_handoff

    repeat = await request_handoff(world.console, conversation_id=conversation_id, reason="citizen_request")
    assert repeat.outcome == "already_waiting" and repeat.position == 1
    await claims.claim(world.console, me, conversation_id)
    served = await request_handoff(world.console, conversation_id=conversation_id, reason="citizen_request")
    assert served.outcome == "already_with_agent"
    async with world.console.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Handoff)) == 1


async def test_unknown_reason_or_conversation_is_refused(world):
    from agent_console.handoff import HandoffRefused, request_handoff

    with pytest.raises(HandoffRefused) as unknown:
        await request_handoff(world.console, conversation_id="0" * 32, reason="citizen_request")
    assert unknown.value.status == 404
    conversation = await world.citizen("odd")
    with pytest.raises(HandoffRefused) as odd:
        await request_handoff(world.console, conversation_id=conversation.id, reason="bored")
    assert odd.value.status == 422


async def test_positions_skip_far_small_moves(world):
    """A thousand waiting: one grab at the front does not send a message to everyone behind."""
    await world.agent("front", capacity=1)
    ids = [(await world.ask_for_person(f"far-{i}"))[0] for i in range(25)]
    await claims.claim(world.console, world.agents["front"], ids[0])
    await Clock(world.console).tell_positions()
    told = [any("queue" in m.payload for m in await world.hub.history(c) if m.author == Author.SYSTEM) for c in ids[1:]]
    assert told[:20] == [True] * 20 and told[20:] == [False] * 4
