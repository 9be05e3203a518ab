"""Duty: an agent applies for a period, a supervisor approves (or the policy approves at once), and duty
ends by itself at the end of the period or when the agent's console has been gone too long.

Shift states move by conditional UPDATE (`… WHERE id = :id AND state IN (:allowed)`), so a supervisor's
decision, the agent's own change and the expiry check in several processes never both apply.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import events
from agent_console.context import Console
from agent_console.models import OPEN_SHIFT_STATES, ConsolePolicy, Shift, ShiftState
from core.db import rowcount, utcnow
from core.errors import ApiError
from staff import audit
from staff.auth import Me, serves_citizens
from staff.models import Agent

log = logging.getLogger(__name__)
AUTO_APPROVE = "duty_auto_approve"


async def check_gates(console: Console, agent_id: int) -> None:
    """Every registered duty gate (`Console.register_duty_gate`) may refuse the agent with an ApiError."""
    for gate in console.duty_gates:
        await gate(agent_id)


def shift_dict(shift: Shift | None) -> dict:
    if shift is None:
        return {"state": "off", "shift_id": None, "ends_at": None, "minutes": None}
    return {
        "state": shift.state,
        "shift_id": shift.id,
        "minutes": shift.minutes,
        "requested_at": shift.requested_at.isoformat(),
        "started_at": shift.started_at.isoformat() if shift.started_at else None,
        "ends_at": shift.ends_at.isoformat() if shift.ends_at else None,
    }


async def open_shift(session: AsyncSession, agent_id: int) -> Shift | None:
    query = select(Shift).where(Shift.open_key == agent_id).execution_options(populate_existing=True)
    return await session.scalar(query)


async def auto_approve(console: Console, session: AsyncSession) -> bool:
    policy = await session.get(ConsolePolicy, AUTO_APPROVE)
    return bool(policy.value.get("on")) if policy else console.settings.console_duty_auto_approve


async def set_auto_approve(console: Console, me: Me, on: bool) -> bool:
    async with console.sessions() as session:
        policy = await session.get(ConsolePolicy, AUTO_APPROVE)
        if policy is None:
            session.add(ConsolePolicy(key=AUTO_APPROVE, value={"on": on}, updated_at=utcnow()))
        else:
            policy.value = {"on": on}
            policy.updated_at = utcnow()
        audit.record(session, me.actor, "duty_policy", "policy:duty_auto_approve", on=on)
        await session.commit()
    return on


async def _publish(console: Console, agent_id: int, shift: Shift | None, reason: str | None = None) -> None:
    event = events.DutyChanged(agent_id=agent_id, reason=reason, **shift_dict(shift))
    await console.bus.publish(events.agent_topic(agent_id), event)
    await console.bus.publish(events.SUPERVISORS, event)


# -- the agent ------------------------------------------------------------------------------------

async def apply(console: Console, me: Me, minutes: int) -> dict:
    """Go on duty for `minutes` (at once with auto-approval, else after a supervisor approves).
    Applying again while on duty extends the period, under the same policy."""
    if not serves_citizens(me):  # whatever the way in: a campaigner never joins the desk
        raise ApiError(403, "forbidden", "外呼专员不能上班接待，也不能查看等待队列。")
    if minutes > console.settings.console_duty_max_minutes:
        raise ApiError(422, "duty_too_long", f"单次上班时长不能超过{console.settings.console_duty_max_minutes}分钟。")
    await check_gates(console, me.id)
    now = utcnow()
    async with console.sessions() as session:
        automatic = await auto_approve(console, session)
        current = await open_shift(session, me.id)
        if current is not None:
            return await _extend(console, session, me, current, minutes, automatic, now)
        shift = Shift(
            agent_id=me.id, open_key=me.id, minutes=minutes, requested_at=now,
            state=ShiftState.ON_DUTY if automatic else ShiftState.PENDING,
            started_at=now if automatic else None, ends_at=now + timedelta(minutes=minutes) if automatic else None,
        )
        session.add(shift)
        await session.execute(update(Agent).where(Agent.id == me.id).values(last_seen_at=now))
        audit.record(session, me.actor, "duty_start" if automatic else "duty_apply", f"agent:{me.id}", minutes=minutes)
        try:
            await session.commit()
        except IntegrityError:  # a second request of the same agent, at the same moment
            raise ApiError(409, "duty_changed", "上班状态已变化，请刷新。") from None
    await _publish(console, me.id, shift)
    return shift_dict(shift)


async def _extend(
    console: Console, session: AsyncSession, me: Me, current: Shift, minutes: int, automatic: bool, now: datetime
) -> dict:
    if current.state == ShiftState.PENDING:
        raise ApiError(409, "duty_pending", "您的上班申请正在等待主管审批。")
    if not automatic:
        raise ApiError(409, "already_on_duty", "您已在岗；延长上班时间需要先下班再重新申请。")
    ends_at = max(current.ends_at or now, now + timedelta(minutes=minutes))
    changed = await session.execute(
        update(Shift).where(Shift.id == current.id, Shift.state.in_([ShiftState.ON_DUTY, ShiftState.ON_BREAK]))
        .values(ends_at=ends_at, minutes=current.minutes + minutes)
    )
    if rowcount(changed) != 1:
        raise ApiError(409, "duty_changed", "上班状态已变化，请刷新。")
    audit.record(session, me.actor, "duty_extend", f"agent:{me.id}", minutes=minutes)
    await session.commit()
    shift = await open_shift(session, me.id)
    await _publish(console, me.id, shift)
    return shift_dict(shift)


async def set_break(console: Console, me: Me, on_break: bool) -> dict:
    source, target = ShiftState.ON_DUTY, ShiftState.ON_BREAK
    if not on_break:
        source, target = target, source
    async with console.sessions() as session:
        changed = await session.execute(
            update(Shift).where(Shift.open_key == me.id, Shift.state == source).values(state=target)
        )
        if rowcount(changed) != 1:
            raise ApiError(409, "duty_state", "当前不在岗，无法小休。" if on_break else "当前不在小休状态。")
        audit.record(session, me.actor, "break_start" if on_break else "break_end", f"agent:{me.id}")
        await session.commit()
        shift = await open_shift(session, me.id)
    await _publish(console, me.id, shift)
    return shift_dict(shift)


async def end(console: Console, agent_id: int, actor: audit.Actor, reason: str, shift_id: int | None = None) -> bool:
    """End the agent's open shift (or exactly `shift_id`, as the expiry check read it). False if it had
    already ended: then someone else (another process) did it."""
    async with console.sessions() as session:
        query = update(Shift).where(Shift.open_key == agent_id, Shift.state.in_(list(OPEN_SHIFT_STATES)))
        if shift_id is not None:
            query = query.where(Shift.id == shift_id)
        changed = await session.execute(
            query.values(state=ShiftState.ENDED, open_key=None, ended_at=utcnow(), end_reason=reason)
        )
        if rowcount(changed) != 1:
            return False
        audit.record(session, actor, "duty_end", f"agent:{agent_id}", reason=reason)
        await session.commit()
    await _publish(console, agent_id, None, reason)
    return True


# -- supervisors ----------------------------------------------------------------------------------

async def decide(console: Console, me: Me, shift_id: int, approve: bool) -> dict:
    now = utcnow()
    async with console.sessions() as session:
        shift = await session.get(Shift, shift_id)
        if shift is None:
            raise ApiError(404, "shift_not_found", "上班申请不存在。")
        if approve:  # the agent may have been suspended since they applied
            await check_gates(console, shift.agent_id)
        values = (
            {"state": ShiftState.ON_DUTY, "started_at": now, "ends_at": now + timedelta(minutes=shift.minutes)}
            if approve else {"state": ShiftState.REJECTED, "open_key": None, "ended_at": now, "end_reason": "rejected"}
        )
        changed = await session.execute(
            update(Shift).where(Shift.id == shift_id, Shift.state == ShiftState.PENDING)
            .values(decided_by=me.id, **values)
        )
        if rowcount(changed) != 1:
            raise ApiError(409, "shift_decided", "该申请已处理。")
        audit.record(session, me.actor, "duty_approve" if approve else "duty_reject", f"agent:{shift.agent_id}",
                     shift_id=shift_id)
        await session.commit()
        shift = await session.get_one(Shift, shift_id, populate_existing=True)
    await _publish(console, shift.agent_id, shift if approve else None, None if approve else "rejected")
    return shift_dict(shift)


async def roster(session: AsyncSession) -> list[tuple[Agent, Shift | None]]:
    rows = await session.execute(
        select(Agent, Shift).outerjoin(Shift, Shift.open_key == Agent.id).where(Agent.active.is_(True))
        .order_by(Agent.display_name)
    )
    return [(agent, shift) for agent, shift in rows.all()]


# -- the clock ------------------------------------------------------------------------------------

async def due_to_end(console: Console) -> list[tuple[int, int, str]]:
    """(agent, shift, reason) of open shifts whose period is over or whose console is gone."""
    now = utcnow()
    idle_since = now - timedelta(minutes=console.settings.console_duty_idle_minutes)
    async with console.sessions() as session:
        rows = await session.execute(
            select(Shift.agent_id, Shift.id, Shift.ends_at, Agent.last_seen_at)
            .join(Agent, Agent.id == Shift.agent_id)
            .where(Shift.state.in_([ShiftState.ON_DUTY, ShiftState.ON_BREAK]))
        )
        due = []
        for agent_id, shift_id, ends_at, seen in rows.all():
            if ends_at is not None and ends_at <= now:
                due.append((agent_id, shift_id, "expired"))
            elif seen is None or seen <= idle_since:
                due.append((agent_id, shift_id, "inactive"))
        return due
