"""The waiting pool as agents and citizens see it: its order, positions and estimated waits.

Order: priority first (complaints, then citizens handed back recently), then oldest first.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.glance import real_question
from agent_console.models import Assignment, CallbackTicket, Handoff, HandoffState, Shift, ShiftState, TicketState
from conversations.models import Author, Message
from core.db import utcnow
from staff.models import Agent

PRIORITY_COMPLAINT = 2
PRIORITY_RETURNING = 1
# Without enough history, assume an agent grabs within half a minute and a conversation takes five.
DEFAULT_GRAB_S = 30
DEFAULT_HANDLE_S = 300
MIN_SAMPLES = 5
PREVIEW_CHARS = 80
# A preview is the citizen's last real question among their last few messages ("转人工" says nothing).
PREVIEW_LOOKBACK = 5

ORDER = (Handoff.priority.desc(), Handoff.queued_at, Handoff.id)


async def open_handoff(session: AsyncSession, conversation_id: str) -> Handoff | None:
    """The conversation's handoff that is still waiting or served, if any (one at most: `open_key`)."""
    return await session.scalar(select(Handoff).where(Handoff.open_key == conversation_id))


def _open_loads():
    """Open assignments per agent, as a query (agent_id, load)."""
    return select(Assignment.agent_id, func.count().label("load")).where(Assignment.ended_at.is_(None)).group_by(
        Assignment.agent_id
    )


async def loads(session: AsyncSession) -> dict[int, int]:
    """How many conversations each agent holds now (agents holding none are absent)."""
    return dict((await session.execute(_open_loads())).all())


@dataclass(frozen=True)
class Staffing:
    on_duty: int     # agents on duty and not on break
    free_slots: int  # their capacity not in use
    on_break: int    # back soon: the pool still queues for them

    @property
    def staffed(self) -> bool:
        return self.on_duty + self.on_break > 0


async def staffing(session: AsyncSession) -> Staffing:
    load = _open_loads().subquery()
    rows = (
        await session.execute(
            select(Shift.state, Agent.capacity, func.coalesce(load.c.load, 0))
            .join(Shift, and_(Shift.open_key == Agent.id, Shift.state.in_([ShiftState.ON_DUTY, ShiftState.ON_BREAK])))
            .outerjoin(load, load.c.agent_id == Agent.id)
            .where(Agent.active.is_(True))
        )
    ).all()
    serving = [(capacity, used) for state, capacity, used in rows if state == ShiftState.ON_DUTY]
    return Staffing(
        on_duty=len(serving), free_slots=sum(max(0, capacity - used) for capacity, used in serving),
        on_break=len(rows) - len(serving),
    )


async def position_of(session: AsyncSession, handoff: Handoff) -> int:
    ahead = await session.scalar(
        select(func.count()).where(
            Handoff.state == HandoffState.WAITING,
            or_(
                Handoff.priority > handoff.priority,
                and_(
                    Handoff.priority == handoff.priority,
                    or_(
                        Handoff.queued_at < handoff.queued_at,
                        and_(Handoff.queued_at == handoff.queued_at, Handoff.id < handoff.id),
                    ),
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


async def waiting_order(session: AsyncSession) -> list[tuple[int, str, int | None]]:
    """(handoff id, conversation id, position last told) of every waiting handoff, in pool order."""
    rows = await session.execute(
        select(Handoff.id, Handoff.conversation_id, Handoff.notified_position)
        .where(Handoff.state == HandoffState.WAITING)
        .order_by(*ORDER)
    )
    return [(handoff_id, conversation_id, told) for handoff_id, conversation_id, told in rows.all()]


async def typical_times(session: AsyncSession) -> tuple[float, float]:
    """Recent typical seconds from entering the pool to being grabbed, and of handling."""
    since = utcnow() - timedelta(hours=24)
    grabs = (
        await session.execute(
            select(Handoff.queued_at, Handoff.claimed_at)
            .where(Handoff.claimed_at.is_not(None), Handoff.claimed_at >= since)
            .order_by(Handoff.claimed_at.desc())
            .limit(50)
        )
    ).all()
    handled = (
        await session.execute(
            select(Assignment.started_at, Assignment.ended_at)
            .where(Assignment.end == "finished", Assignment.ended_at >= since)
            .order_by(Assignment.ended_at.desc())
            .limit(50)
        )
    ).all()
    grab_s = _median_span(grabs) if len(grabs) >= MIN_SAMPLES else DEFAULT_GRAB_S
    handle_s = _median_span(handled) if len(handled) >= MIN_SAMPLES else DEFAULT_HANDLE_S
    return max(grab_s, 5.0), max(handle_s, 30.0)


def _median_span(spans: Sequence[tuple[datetime, datetime | None]]) -> float:
    ordered = sorted((end - start).total_seconds() for start, end in spans if end is not None)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def estimate_wait(position: int, staff: Staffing, grab_s: float, handle_s: float) -> int | None:
    """Seconds until an agent takes the citizen at `position`; None when nobody is on duty."""
    if staff.on_duty == 0:
        return None
    if position <= staff.free_slots:
        return round(grab_s)
    rounds = math.ceil((position - staff.free_slots) / staff.on_duty)
    return round(grab_s + rounds * handle_s)


async def estimate_for(session: AsyncSession, position: int, staff: Staffing | None = None) -> int | None:
    """The wait for `position`; pass `staff` when the caller has just counted it."""
    staff = staff or await staffing(session)
    grab_s, handle_s = await typical_times(session)
    return estimate_wait(position, staff, grab_s, handle_s)


def say_wait(seconds: int | None) -> str:
    if seconds is None:
        return "暂时无法估计"
    if seconds < 60:
        return "1分钟内"
    return f"{math.ceil(seconds / 60)}分钟"


# -- what a console shows ---------------------------------------------------------------------------

async def last_citizen_texts(session: AsyncSession, conversation_ids: list[str]) -> dict[str, str]:
    """Each conversation's preview: the citizen's last real question within their last few messages (a
    plain "转人工" or a rating digit is skipped), else simply their last message."""
    if not conversation_ids:
        return {}
    ranked = (
        select(Message.conversation_id, Message.text, Message.id,
               func.row_number().over(partition_by=Message.conversation_id, order_by=Message.id.desc()).label("n"))
        .where(Message.conversation_id.in_(conversation_ids), Message.author == Author.CITIZEN)
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.conversation_id, ranked.c.text).where(ranked.c.n <= PREVIEW_LOOKBACK).order_by(ranked.c.id)
    )
    texts: dict[str, list[str]] = {}
    for conversation_id, text in rows.all():
        texts.setdefault(conversation_id, []).append(text)  # oldest first
    return {cid: (real_question(said) or said[-1])[:PREVIEW_CHARS] for cid, said in texts.items()}


def item(handoff: Handoff, preview: str, now: datetime) -> dict:
    return {
        "conversation_id": handoff.conversation_id,
        "handoff_id": handoff.id,
        "channel": handoff.channel,
        "reason": handoff.reason,
        "priority": handoff.priority,
        "intent": handoff.intent,
        "skill": handoff.skill,
        "note": handoff.note,
        "queued_at": handoff.queued_at.isoformat(),
        "waited_s": max(0, int((now - handoff.queued_at).total_seconds())),
        "preview": preview,
    }


async def waiting_items(session: AsyncSession, limit: int = 2000) -> list[dict]:
    query = select(Handoff).where(Handoff.state == HandoffState.WAITING).order_by(*ORDER).limit(limit)
    handoffs = list((await session.scalars(query)).all())
    previews = await last_citizen_texts(session, [h.conversation_id for h in handoffs])
    now = utcnow()
    return [item(h, previews.get(h.conversation_id, ""), now) for h in handoffs]


def ticket_item(ticket: CallbackTicket) -> dict:
    return {
        "ticket_id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "channel": ticket.channel,
        "reason": ticket.reason,
        "origin": ticket.origin,
        "state": ticket.state,
        "question": ticket.question,
        "contact": ticket.contact,
        "agent_id": ticket.agent_id,
        "created_at": ticket.created_at.isoformat(),
        "promised_by": ticket.promised_by.isoformat() if ticket.promised_by else None,
    }


async def open_tickets(session: AsyncSession, limit: int = 500) -> list[dict]:
    tickets = await session.scalars(
        select(CallbackTicket)
        .where(CallbackTicket.state.in_([TicketState.OPEN, TicketState.CLAIMED]))
        .order_by(CallbackTicket.created_at, CallbackTicket.id)
        .limit(limit)
    )
    return [ticket_item(t) for t in tickets.all()]
