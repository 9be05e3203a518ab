"""The funnel for the console: counts per stage and conversions per campaign, segment, channel and
business (JSON), the same as a CSV or XLSX file (every export audited), and the console page that charts it.

Supervisors and admins read every funnel; a campaigner reads the funnel of a campaign they prepared.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.pages import page_headers
from core.services import services_of
from outreach import funnel
from outreach.deps import OutreachDep
from staff import audit
from staff.auth import ROLE_ERRORS, SIGNED_IN_ERRORS, CurrentAgent, Me
from staff.models import Role

router = APIRouter(tags=["outreach: funnel"])
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
HEADERS = page_headers()
LOCAL = ZoneInfo("Asia/Shanghai")
READ = (SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST, {403: ("forbidden", "campaign_required"),
                                                       422: ("group_invalid", "dates_invalid")})
STAGE_TITLES = {"sent": "已发送", "delivered": "已送达", "opened": "已打开", "checklist": "已完成自查",
                "handed_off": "已转办理", "completed": "已办结"}
GROUP_TITLES = {"campaign_id": "任务编号", "campaign": "任务名称", "segment": "人群", "channel": "渠道",
                "business": "业务"}


class Filters(BaseModel):
    campaign_id: int | None = Field(None, ge=1)
    segment: str | None = Field(None, max_length=64)
    channel: str | None = Field(None, max_length=20)
    business: str | None = Field(None, max_length=64)
    since: date | None = Field(None, description="first day (Asia/Shanghai), inclusive")
    until: date | None = Field(None, description="last day (Asia/Shanghai), inclusive")
    group_by: str = Field(",".join(funnel.GROUPS), max_length=80,
                          description="comma-separated, of campaign_id, segment, channel, business")

    def groups(self) -> tuple[str, ...]:
        keys = tuple(key.strip() for key in self.group_by.split(",") if key.strip())
        if not keys or set(keys) - set(funnel.GROUPS):
            raise ApiError(422, "group_invalid", "分组只能是 campaign_id、segment、channel、business 中的一项或几项。")
        return keys

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        if self.since and self.until and self.since > self.until:
            raise ApiError(422, "dates_invalid", "开始日期不能晚于结束日期。")
        since = datetime.combine(self.since, time(), LOCAL) if self.since else None
        until = datetime.combine(self.until + timedelta(days=1), time(), LOCAL) if self.until else None
        return since, until

    def described(self) -> dict[str, object]:
        """The filters as the audit trail keeps them (only those given)."""
        return {key: str(value) for key, value in self.model_dump().items() if value is not None}


class FunnelRowOut(BaseModel):
    campaign_id: int | None
    campaign: str | None = Field(description="the campaign's name, where it has one")
    segment: str | None
    channel: str | None
    business: str | None
    counts: dict[str, int] = Field(description="subjects that reached each stage")
    step: dict[str, float | None] = Field(description="each stage over the stage before it")
    overall: dict[str, float | None] = Field(description="each stage over sent")


class FunnelOut(BaseModel):
    stages: list[str]
    group_by: list[str]
    rows: list[FunnelRowOut]
    total: FunnelRowOut


async def reader(me: CurrentAgent) -> Me:
    """Supervisors and admins; campaigners pass here and are held to their own campaigns by `_rows`."""
    if not me.can(Role.SUPERVISOR) and me.role != Role.CAMPAIGNER:
        raise ApiError(403, "forbidden", "没有权限执行此操作。")
    return me


FunnelReader = Annotated[Me, Depends(reader)]


async def _rows(request: Request, outreach: OutreachDep, me: Me,
                filters: Filters) -> tuple[tuple[str, ...], list[dict], dict]:
    groups, (since, until) = filters.groups(), filters.bounds()
    campaigns = services_of(request).find(funnel.Campaigns)
    async with outreach.sessions() as session:
        if not me.can(Role.SUPERVISOR):
            if filters.campaign_id is None:
                raise ApiError(403, "campaign_required", "外呼专员只能查看自己创建的任务的转化漏斗，请选择任务。")
            mine = await campaigns(session, [filters.campaign_id]) if campaigns else {}
            if filters.campaign_id not in mine or mine[filters.campaign_id].created_by != me.id:
                raise ApiError(403, "forbidden", "只能查看自己创建的任务的转化漏斗。")
        rows = await funnel.funnel(
            session, campaign_id=filters.campaign_id, segment=filters.segment, channel=filters.channel,
            business=filters.business, since=since, until=until, group_by=groups)
        ids = sorted({row.campaign_id for row in rows if row.campaign_id is not None})
        names = await campaigns(session, ids) if campaigns and ids else {}

    def out(row: funnel.FunnelRow) -> dict:
        info = names.get(row.campaign_id) if row.campaign_id is not None else None
        return {**row.as_dict(), "campaign": info.name if info else None}

    return groups, [out(row) for row in rows], out(funnel.total(rows))


@router.get("/api/v1/outreach/funnel", response_model=FunnelOut,
            summary="Counts per stage and conversions per campaign, segment, channel and business",
            responses=error_responses(*READ))
async def funnel_json(request: Request, outreach: OutreachDep, me: FunnelReader,
                      filters: Annotated[Filters, Query()]) -> dict:
    groups, rows, summed = await _rows(request, outreach, me, filters)
    return {"stages": [s.value for s in funnel.STAGES], "group_by": list(groups), "rows": rows, "total": summed}


class Download(Response):
    """A file to save: CSV (UTF-8 with a BOM, so Excel opens Chinese) or XLSX."""

    media_type = "text/csv"


def _table(groups: tuple[str, ...], rows: list[dict], summed: dict) -> tuple[list[str], list[list[object]]]:
    keys = [key for key in ("campaign_id", "campaign", "segment", "channel", "business")
            if key in groups or (key == "campaign" and "campaign_id" in groups)]
    stages = [s.value for s in funnel.STAGES]
    header = [GROUP_TITLES[key] for key in keys] + [STAGE_TITLES[s] for s in stages] + \
        [f"{STAGE_TITLES[s]}率（占已发送）" for s in stages[1:]]
    lines: list[list[object]] = []
    for row in [*rows, {**summed, "campaign_id": "合计"}]:
        lines.append([_cell(row.get(key)) for key in keys] + [row["counts"][s] for s in stages] +
                     [row["overall"][s] if row["overall"][s] is not None else "" for s in stages[1:]])
    return header, lines


def _cell(value: object) -> object:
    """A text a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(header: list[str], lines: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(lines)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx(header: list[str], lines: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("转化漏斗")
    sheet.append(header)
    for line in lines:
        sheet.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/api/v1/outreach/funnel/export", response_class=Download,
            summary="The funnel as a CSV or XLSX file (each export is audited)",
            responses={200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the file"},
                       **error_responses(*READ, route_answers_json=False)})
async def funnel_export(request: Request, outreach: OutreachDep, me: FunnelReader,
                        filters: Annotated[Filters, Query()],
                        format: Literal["csv", "xlsx"] = Query("csv", description="csv or xlsx")) -> Response:
    groups, rows, summed = await _rows(request, outreach, me, filters)
    header, lines = _table(groups, rows, summed)
    async with outreach.sessions() as session:
        audit.record(session, me.actor, "outreach_funnel_export", "outreach_funnel", format=format,
                     filters=filters.described(), rows=len(rows))
        await session.commit()
    stamp = outreach.clock.now().astimezone(LOCAL).strftime("%Y%m%d-%H%M")
    if format == "xlsx":
        return Response(_xlsx(header, lines), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="funnel-{stamp}.xlsx"'})
    return Response(_csv(header, lines), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="funnel-{stamp}.csv"'})


# The console page (plain HTML, CSS and the page's own script; charts drawn by it as SVG).

@router.get("/console/funnel", response_class=FileResponse, include_in_schema=False)
async def funnel_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "funnel.html", headers=HEADERS)


@router.get("/console/funnel/funnel.js", response_class=FileResponse, include_in_schema=False)
async def funnel_script() -> FileResponse:
    return FileResponse(STATIC_DIR / "funnel.js", media_type="text/javascript", headers=HEADERS)


@router.get("/console/funnel/funnel.css", response_class=FileResponse, include_in_schema=False)
async def funnel_style() -> FileResponse:
    return FileResponse(STATIC_DIR / "funnel.css", media_type="text/css", headers=HEADERS)
