"""Supervisor figures: live pool and roster, service level, per-agent figures over a period."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from agent_console import stats
from agent_console.context import ConsoleDep
from agent_console.hours import LOCAL
from agent_console.routes.schemas import LiveOut, PeriodFigures
from core.db import utcnow
from core.errors import INVALID_REQUEST, ApiError, error_responses
from staff.auth import ROLE_ERRORS, SIGNED_IN_ERRORS, Supervisor

router = APIRouter(prefix="/api/v1/console/stats", tags=["console: supervisor"])


def _start_of_today() -> datetime:
    return datetime.combine(utcnow().astimezone(LOCAL).date(), time(0), LOCAL)


def _aware(value: datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    return value if value.tzinfo else value.replace(tzinfo=LOCAL)  # a bare time is Shanghai time


@router.get("/live", response_model=LiveOut,
            summary="Pool length, longest wait, agents on duty and their load, service level today",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def live(me: Supervisor, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        return await stats.live(session, console.settings.console_service_level_s, _start_of_today())


@router.get("/agents", response_model=PeriodFigures,
            summary="Per-agent grabs, first-response and handling times, finished, transfers, rating",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST, {422: ("bad_period",)}))
async def agents(
    me: Supervisor, console: ConsoleDep,
    since: Annotated[datetime | None, Query(description="default: today 00:00 (Asia/Shanghai)")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
) -> dict:
    start, end = _aware(since, _start_of_today()), _aware(until, utcnow() + timedelta(seconds=1))
    if end <= start:
        raise ApiError(422, "bad_period", "结束时间必须晚于开始时间。")
    async with console.sessions() as session:
        figures = await stats.per_agent(session, start, end)
        level = await stats.service_level(session, console.settings.console_service_level_s, start, end)
    return {"since": start.isoformat(), "until": end.isoformat(), "service_level": level, "agents": figures}
