"""Rectification cases: every 不满意 or 非常不满意 is verified, the citizen called back, the cause put right
and answered, then rated once more by the citizen (整改回访).

    open ──verify──▶ verified ──call back──▶ called_back ──rectify──▶ rectified ──reply──▶ replied ──▶ closed
      │                 │                                                     (follow-up rating, or time)
      └──appeal─────────┴──▶ appeal ──upheld──▶ closed (the rating is marked, never deleted)
                                   └──rejected──▶ back where it was

Each change is one conditional UPDATE (`… WHERE status IN (:expected)`), so two supervisors pressing the
same button, or a supervisor and the escalation check, cannot both win: the loser gets 409
`case_state_changed`. Every step is a CaseStep and an entry in the staff audit trail, in the same
transaction as the change. Deadlines count working days (ratings/workdays.py)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.db import rowcount
from core.errors import ApiError, ErrorCodes
from core.events import Event
from core.settings import Settings
from ratings.context import Ratings
from ratings.departments import department_for
from ratings.events import TOPIC
from ratings.levels import Level
from ratings.models import CaseStep, Rating, RectificationCase
from ratings.workdays import calendar
from staff import audit
from staff.models import Agent

log = logging.getLogger(__name__)


class CaseStatus:
    OPEN = "open"
    VERIFIED = "verified"
    APPEAL = "appeal"
    CALLED_BACK = "called_back"
    RECTIFIED = "rectified"
    REPLIED = "replied"
    CLOSED = "closed"


C = CaseStatus
# Target status → the statuses it may follow (see the diagram above).
ALLOWED: dict[str, frozenset[str]] = {
    C.OPEN: frozenset({C.APPEAL}),  # an appeal rejected before verification
    C.VERIFIED: frozenset({C.OPEN, C.APPEAL}),
    C.APPEAL: frozenset({C.OPEN, C.VERIFIED}),
    C.CALLED_BACK: frozenset({C.VERIFIED}),
    C.RECTIFIED: frozenset({C.CALLED_BACK}),
    C.REPLIED: frozenset({C.RECTIFIED}),
    C.CLOSED: frozenset({C.REPLIED, C.APPEAL}),
}
# Still owed work with a deadline: these escalate when overdue. An appeal waits for its reviewer instead.
ACTIVE = frozenset({C.OPEN, C.VERIFIED, C.CALLED_BACK, C.RECTIFIED})
BEFORE_CALLBACK = frozenset({C.OPEN, C.VERIFIED})
LABELS = {C.OPEN: "待核实", C.VERIFIED: "已核实", C.APPEAL: "申诉中", C.CALLED_BACK: "已回访", C.RECTIFIED: "已整改",
          C.REPLIED: "已答复", C.CLOSED: "已办结"}
CASE_ERRORS: ErrorCodes = {404: ("case_not_found",), 409: ("case_state_changed", "appeal_already_made")}


class CaseChanged(Event):
    """A case moved (or escalated): the supervisors' lists and the wall refresh. No personal data."""

    type = "ratings.case"
    case_id: int
    status: str
    escalation: int = 0
    department: str | None = None
    overdue: bool = False


def target(case_id: int) -> str:
    return f"rectification_case:{case_id}"


def add_step(session: AsyncSession, case_id: int, actor: audit.Actor, action: str, now: datetime,
             note: str | None = None, **detail: object) -> None:
    """The case's own history and the staff audit trail, in the caller's transaction."""
    session.add(CaseStep(case_id=case_id, at=now, actor_id=actor.id, actor=actor.name, action=action, note=note,
                         detail=detail))
    audit.record(session, actor, f"case.{action}", target(case_id), **detail)  # action: 32 characters at most


async def open_case(session: AsyncSession, rating: Rating, *, now: datetime, settings: Settings) -> RectificationCase:
    """The case of a bad rating, routed to the responsible department, with its two deadlines. Added to
    the caller's transaction (flushed for its id), not committed."""
    if rating.id is None:
        await session.flush()
    department = rating.department
    if not department:  # a channel that did not route it: the rated agent's department, else the business's
        own = await session.scalar(select(Agent.department).where(Agent.id == rating.agent_id)) \
            if rating.agent_id is not None else None
        department = department_for(rating.business, own)
    days = calendar()
    case = RectificationCase(
        rating_id=rating.id, department=department, status=CaseStatus.OPEN, opened_at=now,
        callback_due_at=days.add_working_days(now, settings.rectify_callback_working_days),
        due_at=days.add_working_days(now, settings.rectify_working_days), escalation=0,
    )
    session.add(case)
    await session.flush()
    add_step(session, case.id, audit.SYSTEM, "opened", now, department=department, level=rating.level)
    return case


# -- moving a case -------------------------------------------------------------------------------------


async def _move(session: AsyncSession, case_id: int, target_status: str, expected: frozenset[str],
                **values: Any) -> RectificationCase:
    """One conditional UPDATE: exactly one of any number of concurrent callers moves the case."""
    if not expected <= ALLOWED[target_status]:
        raise ValueError(f"{target_status} cannot follow {sorted(expected - ALLOWED[target_status])}")
    moved = await session.execute(
        update(RectificationCase)
        .where(RectificationCase.id == case_id, RectificationCase.status.in_(expected))
        .values(status=target_status, **values)
    )
    if rowcount(moved) != 1:
        found = await session.scalar(select(RectificationCase.status).where(RectificationCase.id == case_id))
        if found is None:
            raise not_found()
        raise state_changed(found)
    return await session.get_one(RectificationCase, case_id, populate_existing=True)


def state_changed(found: str) -> ApiError:
    label = LABELS.get(found, found)
    return ApiError(409, "case_state_changed", f"整改单状态已变化（现为“{label}”），请刷新后再操作。", found=found)


def not_found() -> ApiError:
    return ApiError(404, "case_not_found", "整改单不存在。")


async def verify(session: AsyncSession, case_id: int, actor: audit.Actor, now: datetime,
                 note: str | None) -> RectificationCase:
    """The department has looked into the rating and confirmed what happened."""
    moved = await _move(session, case_id, C.VERIFIED, frozenset({C.OPEN}), verified_at=now, assignee_id=actor.id)
    add_step(session, case_id, actor, "verified", now, note)
    return moved


async def call_back(session: AsyncSession, case_id: int, actor: audit.Actor, now: datetime, note: str | None,
                    reached: bool) -> RectificationCase:
    """A call to the citizen. Not reached: the attempt is recorded and the case waits (its call-back
    deadline still runs); reached: the case moves on."""
    if not reached:
        found = await session.get(RectificationCase, case_id)
        if found is None:
            raise not_found()
        if found.status != C.VERIFIED:
            raise state_changed(found.status)
        add_step(session, case_id, actor, "call_attempt", now, note, reached=False)
        return found
    moved = await _move(session, case_id, C.CALLED_BACK, frozenset({C.VERIFIED}), called_back_at=now)
    add_step(session, case_id, actor, "called_back", now, note, reached=True)
    return moved


async def rectify(session: AsyncSession, case_id: int, actor: audit.Actor, now: datetime,
                  note: str | None) -> RectificationCase:
    moved = await _move(session, case_id, C.RECTIFIED, frozenset({C.CALLED_BACK}), rectified_at=now)
    add_step(session, case_id, actor, "rectified", now, note)
    return moved


async def reply(session: AsyncSession, case_id: int, actor: audit.Actor, now: datetime,
                text: str) -> RectificationCase:
    """The answer to the citizen is recorded; sending it (and asking for the follow-up rating once) is
    the caller's, after the commit."""
    moved = await _move(session, case_id, C.REPLIED, frozenset({C.RECTIFIED}), replied_at=now)
    add_step(session, case_id, actor, "replied", now, text)
    return moved


async def close(session: AsyncSession, case_id: int, actor: audit.Actor, now: datetime, note: str | None,
                action: str = "closed") -> RectificationCase:
    """A replied case closed without the citizen's follow-up rating (by a supervisor, or by time)."""
    moved = await _move(session, case_id, C.CLOSED, frozenset({C.REPLIED}), closed_at=now)
    add_step(session, case_id, actor, action, now, note)
    return moved


CITIZEN = audit.Actor(id=None, name="citizen", role="citizen")


async def follow_up(session: AsyncSession, case_id: int, level: Level, now: datetime,
                    actor: audit.Actor = CITIZEN) -> RectificationCase:
    """The citizen's one follow-up rating closes the case; it is kept on the case, not as a second Rating.
    `actor`: the citizen on their channel, or the supervisor who took it by phone."""
    moved = await _move(session, case_id, C.CLOSED, frozenset({C.REPLIED}), follow_up_level=int(level),
                        closed_at=now)
    add_step(session, case_id, actor, "follow_up", now, None, level=int(level))
    return moved


async def appeal(session: AsyncSession, case_id: int, actor: audit.Actor, now: datetime,
                 note: str) -> RectificationCase:
    """The rated agent says the rating was mistaken or malicious; a reviewer decides. The status it
    came from is kept in the step, so a rejected appeal returns the case there."""
    found = await session.get(RectificationCase, case_id)
    if found is None:
        raise not_found()
    was = found.status
    if was not in ALLOWED[C.APPEAL]:
        raise ApiError(409, "case_state_changed", "整改单已进入回访或整改环节，不能再申诉。", found=was)
    if found.appeal is not None:
        raise ApiError(409, "appeal_already_made", "这条评价已经申诉过一次。")
    moved = await _move(session, case_id, C.APPEAL, frozenset({was}), appeal="pending")
    add_step(session, case_id, actor, "appealed", now, note, previous=was)
    return moved


async def decide_appeal(session: AsyncSession, case_id: int, actor: audit.Actor, now: datetime, upheld: bool,
                        note: str | None) -> RectificationCase:
    """Upheld: the rating is marked (kept, left out of scores) and the case closed. Rejected: the case
    goes back to where it was, its deadlines unchanged."""
    if upheld:
        moved = await _move(session, case_id, C.CLOSED, frozenset({C.APPEAL}), appeal="upheld", closed_at=now)
        await session.execute(update(Rating).where(Rating.id == moved.rating_id, Rating.mark.is_(None))
                              .values(mark="appeal_upheld", marked_at=now))
        add_step(session, case_id, actor, "appeal_upheld", now, note)
        return moved
    previous = await session.scalar(
        select(CaseStep.detail).where(CaseStep.case_id == case_id, CaseStep.action == "appealed")
        .order_by(CaseStep.id.desc()).limit(1))
    back = (previous or {}).get("previous", C.OPEN)
    back = back if back in ALLOWED[C.APPEAL] else C.OPEN
    moved = await _move(session, case_id, back, frozenset({C.APPEAL}), appeal="rejected")
    add_step(session, case_id, actor, "appeal_rejected", now, note, returned_to=back)
    return moved


# -- deadlines ------------------------------------------------------------------------------------------


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """A case past a deadline it has not met: the call back, or the reply."""
    R = RectificationCase
    return or_(and_(R.status.in_(BEFORE_CALLBACK), R.callback_due_at < now),
               and_(R.status.in_(ACTIVE), R.due_at < now))


def is_overdue(item: RectificationCase, now: datetime) -> bool:
    return (item.status in BEFORE_CALLBACK and item.callback_due_at < now) or (
        item.status in ACTIVE and item.due_at < now)


def missed_deadline(item: RectificationCase, now: datetime) -> datetime | None:
    """The earliest deadline the case has missed, or None."""
    if item.status in BEFORE_CALLBACK and item.callback_due_at < now:
        return item.callback_due_at
    if item.status in ACTIVE and item.due_at < now:
        return item.due_at
    return None


def escalation_due(item: RectificationCase, now: datetime, settings: Settings) -> int:
    """0 on time; 1 the supervisor, as soon as a deadline is missed; 2 the centre, once it stays missed
    RECTIFY_CENTRE_AFTER_WORKING_DAYS more working days."""
    missed = missed_deadline(item, now)
    if missed is None:
        return 0
    centre_at = calendar().add_working_days(missed, settings.rectify_centre_after_working_days)
    return 2 if now > centre_at else 1


@dataclass(frozen=True)
class Escalated:
    case_id: int
    level: int
    department: str | None


async def check_deadlines(ratings: Ratings, now: datetime) -> list[Escalated]:
    """Escalates overdue cases one level at a time (each by one conditional UPDATE, so several processes
    running this at once escalate a case once), and closes replied cases the citizen did not rate again
    within RECTIFY_FOLLOW_UP_WORKING_DAYS. Publishes each change after its commit."""
    settings, escalated = ratings.settings, []
    async with ratings.sessions() as session:
        candidates = list((await session.scalars(
            select(RectificationCase).where(RectificationCase.escalation < 2, overdue_clause(now))
        )).all())
    for item in candidates:
        level = escalation_due(item, now, settings)
        if level <= item.escalation:
            continue
        async with ratings.sessions() as session:
            changed = await session.execute(
                update(RectificationCase)
                .where(RectificationCase.id == item.id, RectificationCase.escalation == item.escalation,
                       RectificationCase.status == item.status)
                .values(escalation=level))
            if rowcount(changed) != 1:
                continue  # another process, or a supervisor's step, came first
            add_step(session, item.id, audit.SYSTEM, "escalated", now, None, level=level,
                     to="centre" if level == 2 else "supervisor", status=item.status)
            await session.commit()
        escalated.append(Escalated(item.id, level, item.department))
        await _announce(ratings, CaseChanged(case_id=item.id, status=item.status, escalation=level,
                                             department=item.department, overdue=True))
    await _close_without_follow_up(ratings, now)
    return escalated


async def _close_without_follow_up(ratings: Ratings, now: datetime) -> None:
    days = ratings.settings.rectify_follow_up_working_days
    async with ratings.sessions() as session:
        replied = list((await session.execute(
            select(RectificationCase.id, RectificationCase.replied_at, RectificationCase.department)
            .where(RectificationCase.status == C.REPLIED))).all())
    for case_id, replied_at, department in replied:
        if replied_at is None or now <= calendar().add_working_days(replied_at, days):
            continue
        async with ratings.sessions() as session:
            try:
                await close(session, case_id, audit.SYSTEM, now, None, action="closed_without_follow_up")
            except ApiError:
                continue  # the citizen's rating came first
            await session.commit()
        await _announce(ratings, CaseChanged(case_id=case_id, status=C.CLOSED, department=department))


async def _announce(ratings: Ratings, event: CaseChanged) -> None:
    try:
        await ratings.bus.publish(TOPIC, event)
    except Exception:  # noqa: BLE001 - the case is stored; lists catch up on their next load
        log.warning("ratings.case not published for case %s", event.case_id, exc_info=True)


async def announce(ratings: Ratings, item: RectificationCase, now: datetime) -> None:
    await _announce(ratings, CaseChanged(case_id=item.id, status=item.status, escalation=item.escalation,
                                         department=item.department, overdue=is_overdue(item, now)))


# -- reading --------------------------------------------------------------------------------------------


def open_first() -> ColumnElement[int]:
    """Open cases before closed ones (the list's stable order), then by the nearest deadline."""
    return case((RectificationCase.status == C.CLOSED, 1), else_=0)
