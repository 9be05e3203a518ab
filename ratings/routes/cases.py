"""Rectification cases in the console: the supervisors' list and the steps of the workflow; an agent sees
and appeals only the cases about their own service."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.deps import HubDep
from conversations.text import clean_text
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.schemas import Timestamp
from ratings import cases
from ratings.context import Ratings
from ratings.deps import RatingsDep
from ratings.follow_up import send_reply
from ratings.levels import LABELS, Level
from ratings.models import CaseStep, Rating, RectificationCase
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, CurrentAgent, Me, Supervisor
from staff.models import Role

router = APIRouter(prefix="/api/v1/console/ratings/cases", tags=["console: rectification"])
READ = (SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST, {404: ("case_not_found",)})
CHANGE = (SIGNED_IN_ERRORS, CSRF_ERRORS, ROLE_ERRORS, INVALID_REQUEST, cases.CASE_ERRORS)
Status = Literal["open", "verified", "appeal", "called_back", "rectified", "replied", "closed"]


class CaseOut(BaseModel):
    id: int
    conversation_id: str | None
    level: int
    level_label: str
    status: Status
    status_label: str
    due_at: Timestamp = Field(description="rectified and answered by then (working days)")
    callback_due_at: Timestamp = Field(description="the citizen called back by then")
    opened_at: Timestamp
    department: str | None
    escalation: int = Field(description="0 none, 1 the supervisor, 2 the centre")
    overdue: bool
    channel: str
    business: str | None
    agent_id: int | None
    appeal: str | None
    follow_up_level: int | None


class CasesOut(BaseModel):
    cases: list[CaseOut]


class StepOut(BaseModel):
    at: Timestamp
    actor: str
    action: str
    note: str | None
    detail: dict


class RatingOut(BaseModel):
    id: int
    level: int
    level_label: str
    reasons: list[str]
    comment: str | None = Field(description="the citizen's words, to be shown as text")
    channel: str
    kind: str
    counter: str | None
    created_at: Timestamp
    mark: str | None


class CaseDetail(CaseOut):
    rating: RatingOut
    steps: list[StepOut]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)


class CallBackIn(NoteIn):
    reached: bool = Field(True, description="false: the attempt is recorded, the case waits")


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2000, description="sent to the citizen where the rating came from a conversation")


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="why the rating is mistaken or malicious")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upheld: bool
    note: str | None = Field(None, max_length=2000)


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(description="the citizen's follow-up rating by phone, 1..5")


def _item(item: RectificationCase, rating: Rating, now_overdue: bool) -> dict:
    return {
        "id": item.id, "conversation_id": rating.conversation_id, "level": rating.level,
        "level_label": LABELS[Level(rating.level)], "status": item.status,
        "status_label": cases.LABELS.get(item.status, item.status), "due_at": item.due_at.isoformat(),
        "callback_due_at": item.callback_due_at.isoformat(), "opened_at": item.opened_at.isoformat(),
        "department": item.department, "escalation": item.escalation, "overdue": now_overdue,
        "channel": rating.channel, "business": rating.business, "agent_id": rating.agent_id,
        "appeal": item.appeal, "follow_up_level": item.follow_up_level,
    }


def _sees_all(me: Me) -> bool:
    return me.can(Role.SUPERVISOR)


async def _load(session: AsyncSession, me: Me, case_id: int) -> tuple[RectificationCase, Rating]:
    """The case and its rating; an agent gets only cases about their own service (others: 404, the same
    answer as a case that does not exist, so ids tell nothing)."""
    row = (await session.execute(
        select(RectificationCase, Rating).join(Rating, Rating.id == RectificationCase.rating_id)
        .where(RectificationCase.id == case_id))).first()
    if row is None or (not _sees_all(me) and row[1].agent_id != me.id):
        raise cases.not_found()
    return row[0], row[1]


@router.get("", response_model=CasesOut, summary="Rectification cases, open ones first (agents: their own)",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST))
async def list_cases(
    me: CurrentAgent, ratings: RatingsDep,
    status: Annotated[Status | None, Query()] = None,
    department: Annotated[str | None, Query(max_length=64)] = None,
    overdue: Annotated[bool | None, Query(description="true: only cases past a deadline")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict:
    now = ratings.clock.now()
    query = (select(RectificationCase, Rating).join(Rating, Rating.id == RectificationCase.rating_id)
             .order_by(cases.open_first(), RectificationCase.due_at, RectificationCase.id).limit(limit))
    if not _sees_all(me):
        query = query.where(Rating.agent_id == me.id)
    if status:
        query = query.where(RectificationCase.status == status)
    if department:
        query = query.where(RectificationCase.department == department)
    if overdue is not None:
        clause = cases.overdue_clause(now)
        query = query.where(clause if overdue else ~clause)
    async with ratings.sessions() as session:
        rows = (await session.execute(query)).all()
    return {"cases": [_item(item, rating, cases.is_overdue(item, now)) for item, rating in rows]}


class DepartmentCases(BaseModel):
    department: str | None
    open: int
    overdue: int
    escalation: int


class SummaryOut(BaseModel):
    departments: list[DepartmentCases]


@router.get("/summary", response_model=SummaryOut,
            summary="Open, overdue and escalated cases per department (supervisor)",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def summary(me: Supervisor, ratings: RatingsDep) -> dict:
    now = ratings.clock.now()
    R = RectificationCase
    async with ratings.sessions() as session:
        rows = (await session.execute(
            select(R.department, func.count(), func.sum(case((cases.overdue_clause(now), 1), else_=0)),
                   func.max(R.escalation))
            .where(R.status != cases.CaseStatus.CLOSED).group_by(R.department))).all()
    return {"departments": [{"department": d, "open": n, "overdue": int(o or 0), "escalation": int(e or 0)}
                            for d, n, o, e in rows]}


@router.get("/{case_id}", response_model=CaseDetail, summary="A case with its rating and every step",
            responses=error_responses(*READ))
async def detail(case_id: int, me: CurrentAgent, ratings: RatingsDep) -> dict:
    return await _detail(ratings, me, case_id)


async def _detail(ratings: Ratings, me: Me, case_id: int) -> dict:
    now = ratings.clock.now()
    async with ratings.sessions() as session:
        item, rating = await _load(session, me, case_id)
        steps = (await session.scalars(select(CaseStep).where(CaseStep.case_id == case_id)
                                       .order_by(CaseStep.at, CaseStep.id))).all()
    return _item(item, rating, cases.is_overdue(item, now)) | {
        "rating": {"id": rating.id, "level": rating.level, "level_label": LABELS[Level(rating.level)],
                   "reasons": list(rating.reasons or []), "comment": rating.comment, "channel": rating.channel,
                   "kind": rating.kind, "counter": rating.counter, "created_at": rating.created_at.isoformat(),
                   "mark": rating.mark},
        "steps": [{"at": s.at.isoformat(), "actor": s.actor, "action": s.action, "note": s.note,
                   "detail": s.detail or {}} for s in steps],
    }


def _note(text: str | None) -> str | None:
    return clean_text(text) if text and text.strip() else None


async def _step(ratings: Ratings, me: Me, case_id: int, action: str, **kwargs: object) -> dict:
    """Runs one workflow step in its own transaction, publishes the change, answers the case."""
    now = ratings.clock.now()
    step = getattr(cases, action)
    async with ratings.sessions() as session:
        await _load(session, me, case_id)
        item = await step(session, case_id, me.actor, now, **kwargs)
        await session.commit()
    await cases.announce(ratings, item, now)
    return await _detail(ratings, me, case_id)


@router.post("/{case_id}/verify", response_model=CaseDetail, summary="The rating is looked into and confirmed",
             responses=error_responses(*CHANGE))
async def verify(case_id: int, body: NoteIn, me: Supervisor, ratings: RatingsDep) -> dict:
    return await _step(ratings, me, case_id, "verify", note=_note(body.note))


@router.post("/{case_id}/call-back", response_model=CaseDetail,
             summary="The citizen was called (reached: the case moves on; not reached: the attempt is kept)",
             responses=error_responses(*CHANGE))
async def call_back(case_id: int, body: CallBackIn, me: Supervisor, ratings: RatingsDep) -> dict:
    return await _step(ratings, me, case_id, "call_back", note=_note(body.note), reached=body.reached)


@router.post("/{case_id}/rectify", response_model=CaseDetail, summary="What was put right",
             responses=error_responses(*CHANGE))
async def rectify(case_id: int, body: NoteIn, me: Supervisor, ratings: RatingsDep) -> dict:
    return await _step(ratings, me, case_id, "rectify", note=_note(body.note))


@router.post("/{case_id}/reply", response_model=CaseDetail,
             summary="The answer to the citizen: sent in the rated conversation with the follow-up request",
             responses=error_responses(*CHANGE, {422: ("empty_message", "message_too_long")}))
async def reply(case_id: int, body: ReplyIn, me: Supervisor, ratings: RatingsDep, hub: HubDep) -> dict:
    text = clean_text(body.text)
    answer = await _step(ratings, me, case_id, "reply", text=text)
    async with ratings.sessions() as session:
        _, rating = await _load(session, me, case_id)
    await send_reply(ratings, hub, rating, case_id, text)
    return answer


@router.post("/{case_id}/follow-up", response_model=CaseDetail,
             summary="The citizen's follow-up rating taken by phone (closes the case)",
             responses=error_responses(*CHANGE, {422: ("rating_level_invalid",)}))
async def follow_up(case_id: int, body: FollowUpIn, me: Supervisor, ratings: RatingsDep) -> dict:
    if not Level.VERY_DISSATISFIED <= body.level <= Level.VERY_SATISFIED:
        raise ApiError(422, "rating_level_invalid", "评价等级应为 1 到 5（5 为非常满意，1 为非常不满意）。")
    now = ratings.clock.now()
    async with ratings.sessions() as session:
        await _load(session, me, case_id)
        item = await cases.follow_up(session, case_id, Level(body.level), now, actor=me.actor)
        await session.commit()
    await cases.announce(ratings, item, now)
    return await _detail(ratings, me, case_id)


@router.post("/{case_id}/close", response_model=CaseDetail,
             summary="Close a replied case without the citizen's follow-up rating",
             responses=error_responses(*CHANGE))
async def close(case_id: int, body: NoteIn, me: Supervisor, ratings: RatingsDep) -> dict:
    return await _step(ratings, me, case_id, "close", note=_note(body.note))


@router.post("/{case_id}/appeal", response_model=CaseDetail,
             summary="The rated agent appeals a mistaken or malicious rating (once; before the call back)",
             responses=error_responses(*CHANGE, {403: ("not_your_rating",)}))
async def appeal(case_id: int, body: AppealIn, me: CurrentAgent, ratings: RatingsDep) -> dict:
    async with ratings.sessions() as session:
        _, rating = await _load(session, me, case_id)
    if rating.agent_id != me.id:
        raise ApiError(403, "not_your_rating", "只能对自己服务收到的评价申诉。")
    return await _step(ratings, me, case_id, "appeal", note=clean_text(body.note))


@router.post("/{case_id}/appeal/decision", response_model=CaseDetail,
             summary="A reviewer upholds (the rating is marked, the case closed) or rejects an appeal",
             responses=error_responses(*CHANGE, {403: ("own_appeal",)}))
async def decide_appeal(case_id: int, body: DecisionIn, me: Supervisor, ratings: RatingsDep) -> dict:
    async with ratings.sessions() as session:
        _, rating = await _load(session, me, case_id)
    if rating.agent_id == me.id:
        raise ApiError(403, "own_appeal", "不能审核对自己服务的申诉。")
    return await _step(ratings, me, case_id, "decide_appeal", upheld=body.upheld, note=_note(body.note))
