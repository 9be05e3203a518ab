"""The monthly performance sheet (绩效考核): per agent and per department, for the reviews.

A month runs in the centre's time (Asia/Shanghai). Per agent: ratings by level (marked ones counted apart),
their mean score and satisfaction, verified bad ratings, the standing score of that month (the formula
of ratings.standing over the month's figures), mean first response and handling time, grabs, conversations
taken and finished, suspensions opened. Per department (the agent's department; 未分配 when none): the sums,
times weighted by conversations (first response by those taken, handling by those finished) and the
mean of its agents' scores."""
from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ApiError
from core.settings import Settings
from ratings import scoring, standing
from ratings.levels import LABELS, Level
from ratings.models import Suspension

LOCAL = ZoneInfo("Asia/Shanghai")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
UNASSIGNED = "未分配"
LEVELS = sorted(Level, reverse=True)


@dataclass(frozen=True)
class Month:
    label: str
    since: datetime
    until: datetime

    @classmethod
    def parse(cls, text: str) -> Month:
        found = MONTH.match(text or "")
        if not found or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
            raise ApiError(422, "month_invalid", "月份格式应为 YYYY-MM，例如 2026-11。")
        year, month = int(found[1]), int(found[2])
        start = date(year, month, 1)
        end = date(year + month // 12, month % 12 + 1, 1)
        return cls(text, datetime.combine(start, time(), LOCAL), datetime.combine(end, time(), LOCAL))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        return cls.parse(moment.astimezone(LOCAL).strftime("%Y-%m"))


def _row(figures: standing.Figures, settings: Settings) -> dict:
    mean = figures.mean_score(settings)
    return {
        "levels": {str(int(level)): figures.levels[level] for level in LEVELS},
        "ratings": figures.ratings, "marked": figures.marked,
        "mean_score": None if mean is None else round(mean, 2),
        "satisfaction": None if mean is None else round(mean / 10, 4),
        "verified_bad": figures.verified_bad,
        "first_response_s": figures.first_response_s, "handling_s": figures.handling_s,
        "grabs": figures.grabs, "taken": figures.taken, "handled": figures.handled,
    }


def _weighted(pairs: list[tuple[float | None, int]]) -> float | None:
    counted = [(value, weight) for value, weight in pairs if value is not None and weight > 0]
    total = sum(weight for _value, weight in counted)
    return round(sum(value * weight for value, weight in counted) / total, 1) if total else None


async def build(session: AsyncSession, settings: Settings, month: Month) -> dict:
    agents = await standing.serving_agents(session)
    found = await standing.gather(session, month.since, month.until, [agent.id for agent in agents])
    suspended = dict((await session.execute(
        select(Suspension.agent_id, func.count())
        .where(Suspension.created_at >= month.since, Suspension.created_at < month.until)
        .group_by(Suspension.agent_id)
    )).all())
    agent_rows = []
    by_department: dict[str, list[tuple[dict, standing.Figures]]] = defaultdict(list)
    for agent in agents:
        figures = found.get(agent.id) or standing.Figures(agent.id)
        score = standing.compute(figures, settings)
        row = {"agent_id": agent.id, "display_name": agent.display_name,
               "department": agent.department or UNASSIGNED, **_row(figures, settings),
               "score": score.value, "suspensions": int(suspended.get(agent.id, 0))}
        agent_rows.append(row)
        by_department[row["department"]].append((row, figures))
    department_rows = []
    for name in sorted(by_department):
        members = by_department[name]
        total = standing.Figures(0)
        for _row_of, figures in members:
            for level in LEVELS:
                total.levels[level] += figures.levels[level]
            total.marked += figures.marked
            total.verified_bad += figures.verified_bad
            total.grabs += figures.grabs
            total.taken += figures.taken
            total.handled += figures.handled
        total.first_response_s = _weighted([(f.first_response_s, f.taken) for _r, f in members])
        total.handling_s = _weighted([(f.handling_s, f.handled) for _r, f in members])
        scores = [row["score"] for row, _f in members if row["score"] is not None]
        department_rows.append({
            "department": name, "agents": len(members), **_row(total, settings),
            "score": round(sum(scores) / len(scores), 1) if scores else None,
            "suspensions": sum(row["suspensions"] for row, _f in members),
        })
    return {"month": month.label, "scores": {str(k): v for k, v in scoring.scores(settings).items()},
            "agents": agent_rows, "departments": department_rows}


HEADER = ["范围", "名称", "部门", "评价数", *(LABELS[level] for level in LEVELS), "申诉成立（不计分）",
          "平均分", "满意度", "核实差评", "常态评分", "平均首次响应（秒）", "平均处理时长（秒）", "抢单", "接待",
          "办结", "暂停次数"]


def _cell(value: object) -> object:
    """Empty for no figure; a text a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _line(scope: str, name: str, department: str, row: dict) -> list[object]:
    return [_cell(v) for v in (
        scope, name, department, row["ratings"], *(row["levels"][str(int(level))] for level in LEVELS), row["marked"],
        row["mean_score"], row["satisfaction"], row["verified_bad"], row["score"], row["first_response_s"],
        row["handling_s"], row["grabs"], row["taken"], row["handled"], row["suspensions"],
    )]


def lines(sheet: dict) -> tuple[list[list[object]], list[list[object]]]:
    agents = [_line("坐席", row["display_name"], row["department"], row) for row in sheet["agents"]]
    departments = [_line("部门", row["department"], row["department"], row) for row in sheet["departments"]]
    return agents, departments


def to_csv(sheet: dict) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Chinese; agents' rows, then the departments'."""
    agents, departments = lines(sheet)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(agents + departments)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheet: dict) -> bytes:
    from openpyxl import Workbook

    agents, departments = lines(sheet)
    book = Workbook(write_only=True)
    for title, rows in ((f"坐席 {sheet['month']}", agents), (f"部门 {sheet['month']}", departments)):
        page = book.create_sheet(title)
        page.append(HEADER)
        for row in rows:
            page.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
