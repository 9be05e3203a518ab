"""数据分析 for supervisors: satisfaction by business, channel, department, agent or period, reasons for
bad ratings, rectification on time and call-backs (JSON), the monthly report (XLSX, PDF) and the page that
charts them (/console/ratings)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.pages import page_headers
from ratings import analysis, report, scoring
from ratings.deps import RatingsDep
from staff import audit
from staff.auth import ROLE_ERRORS, SIGNED_IN_ERRORS, Supervisor

router = APIRouter(tags=["ratings: analysis"])
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
HEADERS = page_headers()
MAX_DAYS = 400  # a chart spans at most about a year (and a month): longer asks are refused, not slow
READ = (SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST, {422: ("dates_invalid",)})


class Range(BaseModel):
    """Days in the centre's time (Asia/Shanghai), both inclusive, written yyyy-mm-dd; default: the last
    30 days through today."""

    from_: date | None = Field(None, alias="from", description="first day, yyyy-mm-dd (default: 29 days ago)")
    to: date | None = Field(None, description="last day, yyyy-mm-dd (default: today)")
    channel: str | None = Field(None, max_length=20, description="only this channel (web, app, wechat, phone…)")
    business: str | None = Field(None, max_length=64, description="only this business code")
    department: str | None = Field(None, max_length=64, description="only this department")
    kind: str | None = Field(None, max_length=20, description="only this kind of service event (agent, bot…)")

    def window(self, today: date) -> tuple[date, date, analysis.Window]:
        last = self.to or today
        first = self.from_ or (last - timedelta(days=29))
        if first > last:
            raise ApiError(422, "dates_invalid", "开始日期不能晚于结束日期。")
        if (last - first).days >= MAX_DAYS:
            raise ApiError(422, "dates_invalid", f"查询范围最长{MAX_DAYS}天，请缩短日期范围。")
        return first, last, analysis.Window.days(first, last)

    def filters(self) -> analysis.Filters:
        return analysis.Filters(channel=self.channel or None, business=self.business or None,
                                department=self.department or None, kind=self.kind or None)


class FiguresOut(BaseModel):
    key: str | None = Field(description="the code grouped by (business code, channel, department, agent id, "
                                        "day/week's Monday/month); null: not stated, or the bot for agents")
    label: str = Field(description="what to show: the business's name, 智能客服 for the bot …")
    count: int = Field(description="ratings counted (not marked by an upheld appeal)")
    marked: int = Field(description="ratings marked by an upheld appeal: kept, counted apart, never scored")
    levels: dict[str, int] = Field(description="counted ratings per level, 5 非常满意 … 1 非常不满意")
    score: float | None = Field(description="mean score under RATING_SCORES")
    satisfaction: float | None = Field(description="满意度: mean score / 10, from 0 to 1")
    good: float | None = Field(description="好评率: share of 非常满意 and 满意")
    bad: float | None = Field(description="差评率: share of 不满意 and 非常不满意")


class SummaryOut(BaseModel):
    by: str
    period: str
    from_: date = Field(serialization_alias="from")
    to: date
    scores: dict[str, float] = Field(description="the score of each level in use (RATING_SCORES)")
    rows: list[FiguresOut]
    total: FiguresOut


class ReasonOut(BaseModel):
    reason: str
    count: int
    share: float | None = Field(description="of the bad ratings counted")


class ReasonsOut(BaseModel):
    from_: date = Field(serialization_alias="from")
    to: date
    reasons: list[ReasonOut]


class CaseFigures(BaseModel):
    opened: int = Field(description="cases opened by bad ratings in the period")
    closed: int
    closed_on_time: int = Field(description="closed, the reply given by the case's due time")
    overdue_open: int = Field(description="still open past the due time now")
    called_back: int
    called_back_in_time: int = Field(description="called back by the call-back deadline")
    escalated: int
    on_time: float | None = Field(description="share of closed cases replied on time")
    called_back_share: float | None = Field(description="share of bad ratings called back at all")
    called_back_in_time_share: float | None = Field(description="share called back within the deadline")


class DepartmentCases(CaseFigures):
    department: str


class RectificationOut(CaseFigures):
    from_: date = Field(serialization_alias="from")
    to: date
    departments: list[DepartmentCases]


def today_of(ratings_now: datetime) -> date:
    return ratings_now.astimezone(analysis.LOCAL).date()


@router.get("/api/v1/console/ratings/summary", response_model=SummaryOut, response_model_by_alias=True,
            summary="Satisfaction and counts per level by business, channel, department, agent or period",
            responses=error_responses(*READ))
async def summary(
    me: Supervisor, ratings: RatingsDep, range_: Annotated[Range, Query()],
    by: Annotated[Literal["business", "channel", "department", "agent", "period"], Query()] = "business",
    period: Annotated[Literal["day", "week", "month"], Query(description="with by=period")] = "day",
) -> dict[str, Any]:
    first, last, window = range_.window(today_of(ratings.clock.now()))
    async with ratings.sessions() as session:
        rows = await analysis.figures(session, ratings.settings, window, by=by, period=period,
                                      filters=range_.filters(), now=ratings.clock.now())
    return {"by": by, "period": period, "from_": first, "to": last,
            "scores": {str(k): v for k, v in scoring.scores(ratings.settings).items()},
            "rows": analysis.scored(rows, ratings.settings),
            "total": analysis.total(rows).as_dict(scoring.scores(ratings.settings))}


@router.get("/api/v1/console/ratings/reasons", response_model=ReasonsOut, response_model_by_alias=True,
            summary="How often each reason was given with a bad rating", responses=error_responses(*READ))
async def reasons(me: Supervisor, ratings: RatingsDep, range_: Annotated[Range, Query()]) -> dict[str, Any]:
    first, last, window = range_.window(today_of(ratings.clock.now()))
    async with ratings.sessions() as session:
        found = await analysis.reasons(session, window, filters=range_.filters(), now=ratings.clock.now())
    return {"from_": first, "to": last, "reasons": found}


@router.get("/api/v1/console/ratings/rectification", response_model=RectificationOut,
            response_model_by_alias=True,
            summary="Cases of the period's bad ratings: replied on time, overdue, called back (per department)",
            responses=error_responses(*READ))
async def rectification(me: Supervisor, ratings: RatingsDep, range_: Annotated[Range, Query()]) -> dict[str, Any]:
    first, last, window = range_.window(today_of(ratings.clock.now()))
    async with ratings.sessions() as session:
        found = await analysis.rectification(session, window, now=ratings.clock.now(), by_department=True)
    return {"from_": first, "to": last, **found}


class Download(Response):
    media_type = report.XLSX


@router.get("/api/v1/console/ratings/report", response_class=Download,
            summary="The monthly report as XLSX (with Excel charts) or PDF (with its charts); each export is audited",
            responses={200: {"content": {report.XLSX: {}, "application/pdf": {}}, "description": "the file"},
                       **error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST,
                                         {422: ("month_invalid",), 503: ("report_font_missing",)},
                                         route_answers_json=False)})
async def monthly_report(
    me: Supervisor, ratings: RatingsDep,
    month: Annotated[str, Query(max_length=7, description="yyyy-mm, e.g. 2026-11")],
    format: Annotated[Literal["xlsx", "pdf"], Query(description="xlsx or pdf")] = "xlsx",
) -> Response:
    report.parse_month(month)
    font = report.font_path(ratings.settings) if format == "pdf" else None  # refused before any work
    async with ratings.sessions() as session:
        gathered = await report.gather(session, ratings.settings, month, now=ratings.clock.now())
        audit.record(session, me.actor, "ratings_report_export", "ratings_report", month=gathered.month,
                     format=format)
        await session.commit()
    if font is not None:
        body = await run_in_threadpool(report.pdf, gathered, font)
        media = "application/pdf"
    else:
        body = await run_in_threadpool(report.xlsx, gathered)
        media = report.XLSX
    name = f"ratings-report-{gathered.month}.{format}"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# The pages (plain HTML, CSS and their own scripts; charts drawn by the page as SVG, nothing from a CDN).

def _static(name: str, media_type: str | None = None) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=HEADERS)


@router.get("/console/ratings", response_class=FileResponse, include_in_schema=False)
async def analysis_page() -> FileResponse:
    return _static("analysis.html")


@router.get("/console/ratings/static/{name}", response_class=FileResponse, include_in_schema=False)
async def analysis_asset(name: Literal["analysis.js", "analysis.css", "wall.js", "wall.css"]) -> FileResponse:
    return _static(name, "text/javascript" if name.endswith(".js") else "text/css")
