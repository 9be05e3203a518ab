"""动态退出: an agent whose standing falls below the line loses the right to go on duty until a
supervisor reviews it.

    (rules or a supervisor) ──▶ suspended ──readmit──▶ readmitted (may go on duty again)
                                    │  ▲ appeal (the agent's note, once)
                                    └─uphold──▶ upheld ──readmit──▶ readmitted

The rules (STANDING_MIN_SCORE with at least STANDING_MIN_RATINGS ratings, or STANDING_MAX_VERIFIED_BAD
verified bad ratings, in the window) are checked after each rating of the agent and every
STANDING_CHECK_MINUTES. A re-admitted agent starts afresh: the rules then look only at what came after the
re-admission, so the same old ratings cannot suspend them again at once.

One open suspension per agent is kept by the database (`open_key`); decisions are conditional UPDATEs,
so two supervisors (or a supervisor and the rules) never both win. Every change is in the audit trail.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import duty
from agent_console import events as console_events
from agent_console.context import Console
from core.db import rowcount
from core.errors import ApiError, ErrorCodes
from ratings import standing
from ratings.context import Ratings
from ratings.events import SuspensionChanged
from ratings.models import Suspension, SuspensionState
from staff import audit
from staff.models import Agent

log = logging.getLogger(__name__)
S = SuspensionState
OPEN = (S.SUSPENDED, S.UPHELD)
NOTE_MAX = 1000


class Rule:
    LOW_SCORE = "low_score"
    VERIFIED_BAD = "verified_bad"
    MANUAL = "manual"


NOTICES = {
    S.SUSPENDED: "您的上岗资格已暂停（动态退出），待主管复核；复核前不能上班接待。您可以在“我的评价”中提出申诉。",
    S.UPHELD: "主管复核后维持暂停，您暂不能上班接待。",
    S.READMITTED: "主管已恢复您的上岗资格，您可以重新上班接待。",
}
SUSPENDED_ERRORS: ErrorCodes = {403: ("agent_suspended",)}
DECIDE_ERRORS: ErrorCodes = {404: ("suspension_not_found",), 409: ("suspension_decided",)}
APPEAL_ERRORS: ErrorCodes = {404: ("suspension_not_found",), 409: ("suspension_decided", "already_appealed"),
                             422: ("note_invalid",)}


def as_dict(suspension: Suspension, display_name: str | None = None) -> dict:
    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": suspension.id, "agent_id": suspension.agent_id, "display_name": display_name,
        "state": suspension.state, "rule": suspension.rule, "score": suspension.score,
        "detail": suspension.detail or {}, "note": suspension.note, "created_at": at(suspension.created_at),
        "created_by": suspension.created_by, "appeal_note": suspension.appeal_note,
        "appealed_at": at(suspension.appealed_at), "decided_at": at(suspension.decided_at),
        "decided_by": suspension.decided_by, "decision_note": suspension.decision_note,
        "readmitted_at": at(suspension.readmitted_at), "message": NOTICES.get(suspension.state, ""),
    }


def clean_note(note: str | None, *, required: bool = False) -> str | None:
    """Plain text (shown with textContent everywhere); only its length and presence are checked."""
    text = (note or "").strip()
    if required and not text:
        raise ApiError(422, "note_invalid", "请填写说明。")
    if len(text) > NOTE_MAX:
        raise ApiError(422, "note_invalid", f"说明不能超过{NOTE_MAX}字。")
    return text or None


async def open_for(session: AsyncSession, agent_id: int) -> Suspension | None:
    query = select(Suspension).where(Suspension.open_key == agent_id).execution_options(populate_existing=True)
    return await session.scalar(query)


async def gate(ratings: Ratings, agent_id: int) -> None:
    """The console's duty gate: a suspended agent does not go on duty."""
    async with ratings.sessions() as session:
        found = await open_for(session, agent_id)
    if found is not None:
        raise ApiError(403, "agent_suspended", "您的上岗资格已暂停（动态退出），待主管复核后方可上班。",
                       suspension_id=found.id)


async def _announce(ratings: Ratings, suspension: Suspension) -> None:
    event = SuspensionChanged(agent_id=suspension.agent_id, suspension_id=suspension.id, state=suspension.state,
                              rule=suspension.rule, message=NOTICES[suspension.state])
    try:
        await ratings.bus.publish(console_events.agent_topic(suspension.agent_id), event)
        await ratings.bus.publish(console_events.SUPERVISORS, event)
    except Exception:  # the row is the record; the pages also read it when they open
        log.warning("standing.suspension not published for suspension %s", suspension.id, exc_info=True)


async def suspend(ratings: Ratings, console: Console | None, agent_id: int, *, rule: str, actor: audit.Actor,
                  score: float | None = None, detail: dict | None = None, note: str | None = None) -> Suspension | None:
    """Suspend the agent and take them off duty. None when they were suspended already."""
    now = ratings.clock.now()
    async with ratings.sessions() as session:
        suspension = Suspension(agent_id=agent_id, open_key=agent_id, state=S.SUSPENDED, rule=rule, score=score,
                                detail=detail or {}, note=note, created_at=now, created_by=actor.id)
        session.add(suspension)
        audit.record(session, actor, "standing_suspend", f"agent:{agent_id}", rule=rule, score=score)
        try:
            await session.commit()
        except IntegrityError:  # already suspended (another process's check, or a supervisor at once)
            return None
    if console is not None:
        await duty.end(console, agent_id, actor, "suspended")
    await _announce(ratings, suspension)
    return suspension


async def _fresh_since(session: AsyncSession, agent_id: int, since: datetime) -> datetime:
    readmitted = await session.scalar(
        select(func.max(Suspension.readmitted_at)).where(Suspension.agent_id == agent_id)
    )
    return max(since, readmitted) if readmitted is not None else since


def breaks_rule(figures: standing.Figures, score: standing.Score, ratings: Ratings) -> str | None:
    settings = ratings.settings
    if figures.verified_bad >= settings.standing_max_verified_bad:
        return Rule.VERIFIED_BAD
    if figures.ratings >= settings.standing_min_ratings and score.value is not None \
            and score.value < settings.standing_min_score:
        return Rule.LOW_SCORE
    return None


async def check_agent(ratings: Ratings, console: Console | None, agent_id: int) -> Suspension | None:
    """Apply the rules to one agent now; the new suspension, if they broke one."""
    now = ratings.clock.now()
    async with ratings.sessions() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None or not agent.active or await open_for(session, agent_id) is not None:
            return None
        since = await _fresh_since(session, agent_id, standing.window(ratings.settings, now)[0])
        figures = (await standing.gather(session, since, now, [agent_id])).get(agent_id)
    if figures is None:
        return None
    score = standing.compute(figures, ratings.settings)
    rule = breaks_rule(figures, score, ratings)
    if rule is None:
        return None
    detail = {"parts": score.parts, "ratings": figures.ratings, "verified_bad": figures.verified_bad,
              "since": since.isoformat()}
    return await suspend(ratings, console, agent_id, rule=rule, actor=audit.SYSTEM, score=score.value, detail=detail)


async def check_all(ratings: Ratings, console: Console | None) -> list[Suspension]:
    async with ratings.sessions() as session:
        agent_ids = [agent.id for agent in await standing.serving_agents(session)]
    made = []
    for agent_id in agent_ids:
        if (suspension := await check_agent(ratings, console, agent_id)) is not None:
            made.append(suspension)
    return made


async def appeal(ratings: Ratings, me: audit.Actor, suspension_id: int, note: str | None) -> Suspension:
    """The agent's own appeal, once per suspension; another agent's suspension is not found."""
    text = clean_note(note, required=True)
    now = ratings.clock.now()
    async with ratings.sessions() as session:
        found = await session.get(Suspension, suspension_id)
        if found is None or found.agent_id != me.id:
            raise ApiError(404, "suspension_not_found", "暂停记录不存在。")
        changed = await session.execute(
            update(Suspension).where(Suspension.id == suspension_id, Suspension.state.in_(OPEN),
                                     Suspension.appealed_at.is_(None))
            .values(appeal_note=text, appealed_at=now)
        )
        if rowcount(changed) != 1:
            await session.refresh(found)
            if found.state not in OPEN:
                raise ApiError(409, "suspension_decided", "该暂停已处理，无需申诉。")
            raise ApiError(409, "already_appealed", "您已提交过申诉，请等待主管复核。")
        audit.record(session, me, "standing_appeal", f"suspension:{suspension_id}")
        await session.commit()
        await session.refresh(found)
    return found


async def decide(ratings: Ratings, me: audit.Actor, suspension_id: int, readmit: bool,
                 note: str | None) -> Suspension:
    """A supervisor's review: re-admit (the agent may go on duty again) or keep the suspension."""
    text = clean_note(note)
    now = ratings.clock.now()
    values: dict[str, object] = {"decided_at": now, "decided_by": me.id, "decision_note": text}
    if readmit:
        values |= {"state": S.READMITTED, "open_key": None, "readmitted_at": now}
    else:
        values |= {"state": S.UPHELD}
    async with ratings.sessions() as session:
        found = await session.get(Suspension, suspension_id)
        if found is None:
            raise ApiError(404, "suspension_not_found", "暂停记录不存在。")
        changed = await session.execute(
            update(Suspension).where(Suspension.id == suspension_id, Suspension.state.in_(OPEN)).values(**values)
        )
        if rowcount(changed) != 1:
            raise ApiError(409, "suspension_decided", "该暂停已处理。")
        audit.record(session, me, "standing_readmit" if readmit else "standing_uphold",
                     f"suspension:{suspension_id}", agent_id=found.agent_id)
        await session.commit()
        await session.refresh(found)
    await _announce(ratings, found)
    return found


async def listing(session: AsyncSession, *, open_only: bool = False, agent_id: int | None = None,
                  limit: int = 200) -> list[dict]:
    """Open suspensions first, then the newest."""
    query = (select(Suspension, Agent.display_name).join(Agent, Agent.id == Suspension.agent_id)
             .order_by(Suspension.open_key.is_(None), Suspension.created_at.desc()).limit(limit))
    if open_only:
        query = query.where(Suspension.open_key.is_not(None))
    if agent_id is not None:
        query = query.where(Suspension.agent_id == agent_id)
    return [as_dict(suspension, name) for suspension, name in (await session.execute(query)).all()]
