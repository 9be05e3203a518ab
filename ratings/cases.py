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

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from ratings.departments import department_for
from ratings.models import CaseStep, Rating, RectificationCase
from ratings.workdays import calendar
from staff import audit


class CaseStatus:
    OPEN = "open"
    VERIFIED = "verified"
    APPEAL = "appeal"
    CALLED_BACK = "called_back"
    RECTIFIED = "rectified"
    REPLIED = "replied"
    CLOSED = "closed"


def target(case_id: int) -> str:
    return f"rectification_case:{case_id}"


def add_step(session: AsyncSession, case_id: int, actor: audit.Actor, action: str, now: datetime,
             note: str | None = None, **detail: object) -> None:
    """The case's own history and the staff audit trail, in the caller's transaction."""
    session.add(CaseStep(case_id=case_id, at=now, actor_id=actor.id, actor=actor.name, action=action, note=note,
                         detail=detail))
    audit.record(session, actor, f"rectification.{action}", target(case_id), **detail)


async def open_case(session: AsyncSession, rating: Rating, *, now: datetime, settings: Settings) -> RectificationCase:
    """The case of a bad rating, routed to the responsible department, with its two deadlines. Added to
    the caller's transaction (flushed for its id), not committed."""
    if rating.id is None:
        await session.flush()
    department = rating.department or department_for(rating.business, None)
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
