"""Segments: the rules in `policy/segments/*.yml` listed with their texts, and a preview of whom one
reaches (how many, a few masked samples, the bad rows of the centre's data) before a campaign is
prepared from it. For those who prepare campaigns: campaigners, supervisors and admins."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.concurrency import run_in_threadpool

from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.settings import Settings
from outreach import segments as rules
from outreach.centre_data import open_source
from outreach.context import Outreach
from outreach.deps import OutreachDep
from outreach.segment_asked import asked_by_key
from outreach.segments import EventError, Segment, SegmentError
from policy.loan_params import LoanParams, LoanParamsError, RateEntry, current_params
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, Me, current_agent
from staff.models import Role

router = APIRouter(prefix="/api/v1/outreach/segments", tags=["segments"])
READ = (SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST)
UNAVAILABLE = {503: ("segments_unavailable", "loan_params_unavailable", "centre_data_invalid", "centre_data_missing",
                     "centre_data_column_missing")}
LOCAL = ZoneInfo("Asia/Shanghai")


async def segment_preparer(me: Annotated[Me, Depends(current_agent)]) -> Me:
    """Who prepares campaigns sees the segments: campaigners, supervisors and admins (as the engine's
    campaign_preparer, which sits above this package)."""
    if me.role != Role.CAMPAIGNER and not me.can(Role.SUPERVISOR):
        raise ApiError(403, "forbidden", "没有权限执行此操作。")
    return me


SegmentPreparer = Annotated[Me, Depends(segment_preparer)]


class SegmentOut(BaseModel):
    key: str
    title: str
    audience: str = Field(description="depositors | employer_admins | assistants")
    event: str | None = Field(description="rate_change | policy_article: prepared when that event happens")
    when: str = Field(description="the rule, parameters filled in")
    business: str
    business_name: str
    checklist: str | None
    figures: str
    messages: dict[str, str] = Field(description="channel (sms, wechat, push, card, voice) → text with {variables}")
    variables: list[str]


class SegmentList(BaseModel):
    segments: list[SegmentOut]


class PreviewIn(BaseModel):
    event: dict[str, Any] | None = Field(
        None, description='an event segment\'s event: {"old_rate","new_rate","kind"} or {"title"}')
    samples: int = Field(5, ge=0, le=20)


class Sample(BaseModel):
    name: str = Field(description="masked: 张*明")
    mobile: str = Field(description="masked: 138****5678; empty when the data has none")
    variables: dict[str, str]
    facts: dict[str, str]


class PreviewOut(BaseModel):
    count: int
    with_mobile: int
    samples: list[Sample]
    bad_rows: int = Field(description="rows of the centre's data left out as invalid (never guessed)")


def load(settings: Settings) -> dict[str, Segment]:
    """The segment files as they are now (edits apply at the next request); 503 while one is broken."""
    try:
        return rules.load_segments(settings.segments_dir, settings.loan_params_path.parent, settings.checklists_dir)
    except SegmentError as exc:
        raise ApiError(503, "segments_unavailable", f"分群规则文件有误，请修正后再试：{exc}") from None


def find(settings: Settings, key: str) -> Segment:
    segment = load(settings).get(key)
    if segment is None:
        raise ApiError(404, "segment_not_found", "没有这个分群。")
    return segment


def loan_rules(settings: Settings, now: datetime) -> tuple[LoanParams, RateEntry]:
    """The loan parameters and the rates in force today (Asia/Shanghai)."""
    try:
        params = current_params(settings.loan_params_path)
        return params, params.rate_entry(now.astimezone(LOCAL).date())
    except LoanParamsError:
        raise ApiError(503, "loan_params_unavailable", "贷款参数文件有误，暂时无法计算可贷额度。") from None


def describe(segment: Segment) -> dict[str, object]:
    return {
        "key": segment.key, "title": segment.title, "audience": segment.audience, "event": segment.event,
        "when": segment.when_text, "business": segment.business, "business_name": segment.business_name,
        "checklist": segment.checklist, "figures": segment.figures, "messages": dict(segment.messages),
        "variables": list(segment.variables),
    }


async def asked_for(segment: Segment, sessions: async_sessionmaker[AsyncSession]) -> dict[str, float]:
    """What people asked to borrow, for a segment that estimates loans (the others need none)."""
    if segment.figures != "max_loan":
        return {}
    async with sessions() as session:
        return await asked_by_key(session)


def run_preview(outreach: Outreach, segment: Segment, event: dict[str, Any] | None, samples: int,
                asked: dict[str, float]) -> dict[str, object]:
    """Evaluation over the whole source: run it in a thread, never on the event loop."""
    now = outreach.clock.now()
    params, rates = loan_rules(outreach.settings, now)
    source = open_source(outreach.settings)
    try:
        return rules.preview(segment, source, params=params, rates=rates,
                             secret=outreach.settings.session_secret.get_secret_value(), event=event,
                             asked=asked, samples=samples, today=now.astimezone(LOCAL).date())
    except EventError as exc:
        raise ApiError(422, "event_invalid", str(exc)) from None


@router.get("", response_model=SegmentList, summary="The segments with their audience, business and texts",
            responses=error_responses(*READ, UNAVAILABLE))
async def listing(outreach: OutreachDep, me: SegmentPreparer) -> dict:
    return {"segments": [describe(segment) for segment in load(outreach.settings).values()]}


@router.post("/{key}/preview", response_model=PreviewOut,
             summary="How many the segment reaches now, with a few masked samples (nothing is sent)",
             responses=error_responses(*READ, CSRF_ERRORS, UNAVAILABLE, {404: ("segment_not_found",)},
                                       {422: ("event_invalid",)}))
async def preview(key: str, outreach: OutreachDep, me: SegmentPreparer, body: PreviewIn | None = None) -> dict:
    segment = find(outreach.settings, key)
    wanted = body or PreviewIn()
    asked = await asked_for(segment, outreach.sessions)
    return await run_in_threadpool(run_preview, outreach, segment, wanted.event, wanted.samples, asked)
