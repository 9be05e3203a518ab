"""评价结果公开: the public page (/ratings/public, no login) and its JSON: satisfaction by month, and for
one month by business, channel and department, with rectification on time. Aggregates only: no citizen,
comment, agent or conversation ever appears (departments are the finest grain)."""
from __future__ import annotations

import time as clock
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import INVALID_REQUEST, error_responses
from core.settings import Settings
from ratings import analysis, report, scoring
from ratings.deps import RatingsDep
from ratings.routes.analysis import HEADERS, STATIC_DIR

router = APIRouter(tags=["ratings: public results"])
MONTHS = 12
CACHE_S = 60.0  # the page is public: a flood of visits reads the cache, not the ratings
_cache: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}


class PublicFigures(BaseModel):
    label: str
    count: int = Field(description="ratings counted")
    satisfaction: float | None = Field(description="满意度: mean score / 10")
    good: float | None = Field(description="好评率")


class PublicMonth(PublicFigures):
    month: str


class PublicCases(BaseModel):
    opened: int = Field(description="bad ratings that opened a rectification case")
    closed: int
    on_time: float | None = Field(description="share of closed cases answered within the time limit")
    called_back_share: float | None = Field(description="share of bad ratings whose citizen was called back")


class PublicOut(BaseModel):
    month: str = Field(description="the month of the breakdowns, yyyy-mm")
    months: list[PublicMonth] = Field(description="the last twelve months, oldest first")
    total: PublicFigures
    business: list[PublicFigures]
    channel: list[PublicFigures]
    department: list[PublicFigures]
    rectification: PublicCases
    scoring: str = Field(description="how satisfaction is computed")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {"label": row["label"], "count": row["count"], "satisfaction": row["satisfaction"], "good": row["good"]}


def _previous_month(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


async def figures(session: AsyncSession, settings: Settings, month: str, *, now: datetime) -> dict[str, Any]:
    """The page's figures: the month's breakdowns and the twelve months up to it."""
    year, number = report.parse_month(month)
    window = analysis.Window.month(year, number)
    first = (year * 12 + number - 1) - (MONTHS - 1)
    since = analysis.Window.month(first // 12, first % 12 + 1).since
    by_month = await analysis.figures(session, settings, analysis.Window(since, window.until), by="period",
                                      period="month", now=now)
    parts = {by: await analysis.figures(session, settings, window, by=by, now=now)
             for by in ("business", "channel", "department")}
    cases = await analysis.rectification(session, window, now=now)
    scores = ", ".join(f"{analysis.level_label(level)} {value:g}" for level, value in
                       sorted(scoring.scores(settings).items(), reverse=True))
    return {
        "month": f"{year:04d}-{number:02d}",
        "months": [{"month": row["key"], **_public(row)} for row in analysis.scored(by_month, settings)],
        "total": _public(analysis.total(parts["channel"]).as_dict(scoring.scores(settings))),
        **{by: [_public(row) for row in analysis.scored(rows, settings)] for by, rows in parts.items()},
        "rectification": {key: cases[key] for key in ("opened", "closed", "on_time", "called_back_share")},
        "scoring": f"满意度 = 平均得分 ÷ 10（{scores}）；好评率 = 非常满意与满意之和的占比",
    }


@router.get("/api/v1/ratings/public", response_model=PublicOut,
            summary="评价结果公开: aggregate satisfaction by month, business, channel and department (no login)",
            responses=error_responses(INVALID_REQUEST, {422: ("month_invalid",)}))
async def public_figures(
    ratings: RatingsDep,
    month: Annotated[str | None, Query(max_length=7, description="yyyy-mm; default: last month")] = None,
) -> dict[str, Any]:
    wanted = month or _previous_month(ratings.clock.now().astimezone(analysis.LOCAL).date())
    report.parse_month(wanted)
    key = (id(ratings), wanted)
    cached = _cache.get(key)
    if cached is not None and clock.monotonic() - cached[0] < CACHE_S:
        return cached[1]
    async with ratings.sessions() as session:
        found = await figures(session, ratings.settings, wanted, now=ratings.clock.now())
    if len(_cache) > 256:
        _cache.clear()  # months asked for are few; this only bounds a flood of odd ones
    _cache[key] = (clock.monotonic(), found)
    return found


@router.get("/ratings/public", response_class=FileResponse, include_in_schema=False)
async def public_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "public.html", headers=HEADERS)


@router.get("/ratings/public/static/{name}", response_class=FileResponse, include_in_schema=False)
async def public_asset(name: Literal["public.js", "public.css"]) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/javascript" if name.endswith(".js") else "text/css",
                        headers=HEADERS)
