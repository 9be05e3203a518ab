"""Supervisor figures: the live pool and roster, the service level, and per-agent figures over a period."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import duty, pool
from agent_console.models import OPEN_SHIFT_STATES, Assignment, Handoff, HandoffState
from core.db import utcnow
from staff.models import Agent


async def live(session: AsyncSession, service_level_s: int, since: datetime) -> dict:
    now = utcnow()
    waiting = (await session.execute(
        select(func.count(), func.min(Handoff.queued_at)).where(Handoff.state == HandoffState.WAITING)
    )).one()
    loads = await pool.loads(session)
    agents = []
    for agent, shift in await duty.roster(session):
        if shift is None or shift.state not in OPEN_SHIFT_STATES:
            continue
        agents.append({
            "id": agent.id, "display_name": agent.display_name, "state": shift.state, "shift_id": shift.id,
            "load": loads.get(agent.id, 0), "capacity": agent.capacity,
            "ends_at": shift.ends_at.isoformat() if shift.ends_at else None,
            "last_seen_at": agent.last_seen_at.isoformat() if agent.last_seen_at else None,
        })
    live_conversations = (await session.execute(
        select(Handoff.conversation_id, Handoff.channel, Handoff.state, Handoff.reason, Handoff.queued_at,
               Agent.display_name)
        .outerjoin(Agent, Agent.id == Handoff.agent_id)
        .where(Handoff.state.in_([HandoffState.WAITING, HandoffState.ASSIGNED]))
        .order_by(Handoff.queued_at).limit(200)
    )).all()
    return {
        "pool_length": waiting[0],
        "longest_wait_s": int((now - waiting[1]).total_seconds()) if waiting[1] else 0,
        "agents": agents,
        "service_level": await service_level(session, service_level_s, since, now),
        "conversations": [
            {"conversation_id": c, "channel": ch, "state": st, "reason": r, "queued_at": q.isoformat(), "agent": a}
            for c, ch, st, r, q, a in live_conversations
        ],
    }


async def service_level(session: AsyncSession, within_s: int, since: datetime, now: datetime) -> dict:
    """Share of the handoffs that entered the pool since `since` and were grabbed within `within_s`.
    Ones still waiting count once they have waited longer than that; ones that left early do not count."""
    rows = (await session.execute(
        select(Handoff.queued_at, Handoff.claimed_at, Handoff.state).where(Handoff.queued_at >= since)
    )).all()
    met = counted = 0
    for queued, claimed, state in rows:
        if claimed is not None:
            counted += 1
            met += (claimed - queued).total_seconds() <= within_s
        elif state == HandoffState.WAITING and (now - queued).total_seconds() > within_s:
            counted += 1
    return {"within_s": within_s, "met": met, "counted": counted, "share": round(met / counted, 3) if counted else None}


async def per_agent(session: AsyncSession, since: datetime, until: datetime,
                    agent_ids: Collection[int] | None = None) -> list[dict]:
    """Each agent's figures over [since, until); only `agent_ids`' when given (one agent's standing)."""
    query = (
        select(Assignment.agent_id, Assignment.how, Assignment.started_at, Assignment.first_response_at,
               Assignment.ended_at, Assignment.end)
        .where(Assignment.started_at < until, (Assignment.ended_at.is_(None)) | (Assignment.ended_at >= since))
    )
    if agent_ids is not None:
        query = query.where(Assignment.agent_id.in_(list(agent_ids)))
    rows = (await session.execute(query)).all()
    figures: dict[int, dict] = defaultdict(lambda: {
        "grabs": 0, "pushed": 0, "transferred_in": 0, "finished": 0, "transfers": 0,
        "_first": [], "_handling": [],
    })
    for agent_id, how, started, first, ended, end in rows:
        f = figures[agent_id]
        if since <= started < until:
            f["grabs" if how == "grab" else "pushed" if how == "push" else "transferred_in"] += 1
            if first is not None:
                f["_first"].append((first - started).total_seconds())
        if ended is not None and since <= ended < until:
            if end == "finished":
                f["finished"] += 1
                f["_handling"].append((ended - started).total_seconds())
            elif end == "transferred":
                f["transfers"] += 1
    ratings: dict[int, float] = dict((await session.execute(
        select(Handoff.agent_id, func.avg(Handoff.rating))
        .where(Handoff.rated_at >= since, Handoff.rated_at < until, Handoff.rating.is_not(None),
               Handoff.agent_id.is_not(None),  # a rating is of an agent's service
               Handoff.agent_id.in_(list(agent_ids)) if agent_ids is not None else true())
        .group_by(Handoff.agent_id)
    )).all())
    names = dict((await session.execute(select(Agent.id, Agent.display_name))).all())
    result = []
    for agent_id in sorted(set(figures) | set(ratings), key=lambda a: names.get(a, "")):
        f = figures[agent_id]
        first, handling = f.pop("_first"), f.pop("_handling")
        result.append({
            "agent_id": agent_id, "display_name": names.get(agent_id, "?"), **f,
            "first_response_s": round(sum(first) / len(first), 1) if first else None,
            "handling_s": round(sum(handling) / len(handling), 1) if handling else None,
            "rating": round(float(ratings[agent_id]), 2) if ratings.get(agent_id) is not None else None,
        })
    return result
