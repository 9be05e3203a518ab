"""Duty on SQLite and PostgreSQL: applying with and without approval, breaks, the end of the period,
and the end after inactivity (whose conversations go back to the front of the pool)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from agent_console import claims, duty, events
from agent_console.background import Clock
from agent_console.models import Handoff, HandoffState, Shift, ShiftState
from conversations.models import ConversationStatus
from core.db import utcnow
from core.errors import ApiError
from staff.models import Agent, Role
from tests.agent_console.helpers import collect


async def shift_of(world, me) -> Shift | None:
    async with world.console.sessions() as session:
        return await duty.open_shift(session, me.id)


async def test_with_auto_approval_duty_starts_at_once_and_applying_again_extends_it(world):
    me = await world.agent("eager", on_duty=False)
    started = await duty.apply(world.console, me, 30)
    assert started["state"] == ShiftState.ON_DUTY
    extended = await duty.apply(world.console, me, 120)
    assert extended["shift_id"] == started["shift_id"] and extended["ends_at"] > started["ends_at"]
    with pytest.raises(ApiError) as too_long:
        await duty.apply(world.console, me, world.console.settings.console_duty_max_minutes + 1)
    assert too_long.value.code == "duty_too_long"


async def test_without_auto_approval_a_supervisor_decides(world):
    boss = await world.agent("boss", role=Role.SUPERVISOR, on_duty=False)
    await duty.set_auto_approve(world.console, boss, False)
    me = await world.agent("asker", on_duty=False)
    applied = await duty.apply(world.console, me, 60)
    assert applied["state"] == ShiftState.PENDING
    conversation_id, outcome = await world.ask_for_person("early-bird")
    assert outcome.outcome == "callback", "a pending request is not duty"
    async with world.bus.subscribe(events.agent_topic(me.id)) as inbox:
        approved = await duty.decide(world.console, boss, applied["shift_id"], approve=True)
        got = await collect(inbox, 0.2)
    assert approved["state"] == ShiftState.ON_DUTY and [e.state for e in got] == [ShiftState.ON_DUTY]
    with pytest.raises(ApiError) as twice:
        await duty.decide(world.console, boss, applied["shift_id"], approve=False)
    assert twice.value.code == "shift_decided"
    other = await world.agent("refused", on_duty=False)
    rejected = await duty.apply(world.console, other, 60)
    await duty.decide(world.console, boss, rejected["shift_id"], approve=False)
    assert await shift_of(world, other) is None


async def test_an_agent_on_break_receives_nothing(world):
    world.console.settings.console_escalate_after_s = 0.05
    me = await world.agent("coffee")
    await duty.set_break(world.console, me, True)
    conversation_id, _ = await world.ask_for_person("during-break")
    with pytest.raises(ApiError) as grab:
        await claims.claim(world.console, me, conversation_id)
    assert grab.value.code == "on_break"
    await asyncio.sleep(0.1)
    await Clock(world.console).escalate()
    assert await world.status(conversation_id) == ConversationStatus.WAITING, "nothing pushed to a break"
    await duty.set_break(world.console, me, False)
    await Clock(world.console).escalate()
    assert await world.status(conversation_id) == ConversationStatus.HUMAN


async def test_duty_ends_at_the_end_of_the_period(world):
    me = await world.agent("punctual")
    async with world.console.sessions() as session:  # the period is over
        await session.execute(update(Shift).where(Shift.agent_id == me.id).values(ends_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    async with world.bus.subscribe(events.agent_topic(me.id)) as inbox:
        await asyncio.gather(Clock(world.console).end_duty(), Clock(world.console).end_duty())  # two processes
        got = await collect(inbox, 0.2)
    assert [(e.type, e.state, e.reason) for e in got] == [("duty", "off", "expired")]
    assert await shift_of(world, me) is None
    conversation_id, outcome = await world.ask_for_person("after-hours")
    assert outcome.outcome == "callback", "nobody on duty any more"
    assert ("system", "duty_end") in await world.audit_actions(f"agent:{me.id}")


async def test_duty_ends_after_inactivity_and_held_citizens_go_back_first(world):
    world.console.settings.console_duty_idle_minutes = 0.01  # 0.6 s
    gone, staying = await world.agent("gone"), await world.agent("staying")
    held, _ = await world.ask_for_person("held-citizen")
    await claims.claim(world.console, gone, held)
    newer, _ = await world.ask_for_person("newer-citizen")
    async with world.console.sessions() as session:
        await session.execute(update(Agent).where(Agent.id == gone.id).values(last_seen_at=utcnow() - timedelta(minutes=5)))
        await session.execute(update(Agent).where(Agent.id == staying.id).values(last_seen_at=utcnow()))
        await session.commit()
    await Clock(world.console).end_duty()
    assert await shift_of(world, gone) is None
    assert (await shift_of(world, staying)).state == ShiftState.ON_DUTY
    assert await world.status(held) == ConversationStatus.WAITING
    from agent_console.pool import waiting_items

    async with world.console.sessions() as session:
        order = [item["conversation_id"] for item in await waiting_items(session)]
        state = await session.scalar(select(Handoff.state).where(Handoff.conversation_id == held))
    assert order == [held, newer] and state == HandoffState.WAITING
    with pytest.raises(ApiError):
        await claims.claim(world.console, gone, newer)
