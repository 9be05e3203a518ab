"""数据分析: satisfaction by business, channel, department, agent and period; reasons for bad ratings;
rectification on time; bad ratings called back.

The database aggregates (one GROUP BY per figure over the `ratings` indexes that lead with created_at),
so a chart over a million ratings reads a few hundred grouped rows, never the ratings themselves. The
service turns per-level counts into scores with `ratings.scoring` (so RATING_SCORES applies at once,
with nothing stored). Ratings marked by an upheld appeal are counted apart (`marked`) and left out of
every score and share.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import ColumnElement, Integer, Select, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from ratings import scoring
from ratings.cases import ACTIVE
from ratings.levels import LABELS, Level
from ratings.models import Rating, RectificationCase
from ratings.reasons import REASONS
from staff.models import Agent

LOCAL = ZoneInfo("Asia/Shanghai")
DIMENSIONS = ("business", "channel", "department", "agent", "period")
PERIODS = ("day", "week", "month")
BOT = "智能客服"
UNNAMED = "（未标明）"
CHANNELS = {"web": "网页", "app": "App", "wechat": "微信", "phone": "电话", "webrtc": "网页语音",
            "counter": "窗口", "outbound": "外呼电话", "sms": "短信"}
LEVELS = tuple(sorted(Level, reverse=True))
LEVEL_VALUES = frozenset(int(lv) for lv in Level)


@dataclass
class Figures:
    """One group's ratings: counts per level of those counted, and those marked by an upheld appeal."""

    key: str | None
    label: str
    levels: dict[int, int] = field(default_factory=lambda: {int(lv): 0 for lv in LEVELS})
    marked: int = 0

    @property
    def count(self) -> int:
        return sum(self.levels.values())

    def add(self, other: Figures) -> None:
        for level, n in other.levels.items():
            self.levels[level] += n
        self.marked += other.marked

    def as_dict(self, scores: dict[int, float]) -> dict[str, Any]:
        count = self.count
        total = sum(scores[level] * n for level, n in self.levels.items())
        good = self.levels[Level.VERY_SATISFIED] + self.levels[Level.SATISFIED]
        bad = self.levels[Level.DISSATISFIED] + self.levels[Level.VERY_DISSATISFIED]
        return {
            "key": self.key, "label": self.label, "count": count, "marked": self.marked,
            "levels": {str(level): n for level, n in self.levels.items()},
            "score": None if count == 0 else round(total / count, 2),
            "satisfaction": scoring.satisfaction(total, count),
            "good": scoring.share(good, count), "bad": scoring.share(bad, count),
        }


@dataclass(frozen=True)
class Window:
    """[since, until) in UTC-aware datetimes, from days in the centre's time (Asia/Shanghai)."""

    since: datetime
    until: datetime

    @classmethod
    def days(cls, first: date, last: date) -> Window:
        return cls(datetime.combine(first, time(), LOCAL), datetime.combine(last + timedelta(days=1), time(), LOCAL))

    @classmethod
    def month(cls, year: int, month: int) -> Window:
        start = date(year, month, 1)
        end = date(year + month // 12, month % 12 + 1, 1)
        return cls(datetime.combine(start, time(), LOCAL), datetime.combine(end, time(), LOCAL))


@dataclass(frozen=True)
class Filters:
    channel: str | None = None
    business: str | None = None
    department: str | None = None
    kind: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        for column, value in ((Rating.channel, self.channel), (Rating.business, self.business),
                              (Rating.department, self.department), (Rating.kind, self.kind)):
            if value is not None:
                query = query.where(column == value)
        return query


def _period_key(session: AsyncSession, period: str) -> ColumnElement[str]:
    """The rating's day, week (its Monday) or month in the centre's time, as text, in the database's SQL.
    Shanghai keeps +8 all year (no summer time), which SQLite's date modifiers can add."""
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone("Asia/Shanghai", Rating.created_at)
        if period == "month":
            return func.to_char(local, "YYYY-MM")
        if period == "week":
            return func.to_char(func.date_trunc("week", local), "YYYY-MM-DD")
        return func.to_char(local, "YYYY-MM-DD")
    if period == "month":
        return func.strftime("%Y-%m", Rating.created_at, "+8 hours")
    if period == "week":
        return func.date(Rating.created_at, "+8 hours", "weekday 0", "-6 days")
    return func.date(Rating.created_at, "+8 hours")


def _key_column(session: AsyncSession, by: str, period: str) -> ColumnElement[Any]:
    if by == "period":
        return _period_key(session, period)
    columns = {"business": Rating.business, "channel": Rating.channel, "department": Rating.department,
               "agent": Rating.agent_id}
    return columns[by].expression


async def figures(session: AsyncSession, settings: Settings, window: Window, *, by: str, period: str = "day",
                  filters: Filters = Filters(), now: datetime | None = None) -> list[Figures]:
    """One row per business, channel, department, agent or period that has ratings in the window. Given
    `now`, the whole months of a long window that have ended are counted once and kept (see `_pieces`)."""
    if by not in DIMENSIONS or period not in PERIODS:
        raise ValueError(f"by={by!r} period={period!r}")
    key = _key_column(session, by, period).label("key")

    async def count(part: Window) -> dict[Any, Figures]:
        query = filters.apply(
            select(key, Rating.level, func.count(), func.count(Rating.mark))
            .where(Rating.created_at >= part.since, Rating.created_at < part.until)
            .group_by(key, Rating.level))
        groups: dict[Any, Figures] = {}
        for value, level, n, marked in (await session.execute(query)).all():
            group = groups.setdefault(value, Figures(key=None if value is None else str(value), label=""))
            if level in group.levels:
                group.levels[level] += n - marked
            group.marked += marked
        return groups

    groups: dict[Any, Figures] = {}
    for part in await _in_pieces(session, window, now, ("figures", by, period, filters), count):
        for value, found in part.items():
            if value in groups:
                groups[value].add(found)
            else:
                groups[value] = Figures(key=found.key, label="")
                groups[value].add(found)
    rows = list(groups.values())
    await _label(session, settings, by, period, rows)
    if by == "period":
        rows.sort(key=lambda row: row.key or "")
    else:
        rows.sort(key=lambda row: (-row.count, row.label))
    return rows


# Whole months and days that have ended, counted once per process: a chart then reads only today from the
# ratings. Ratings are only ever added (ids rising) and marked (marked_at set once), never changed otherwise
# or removed, so a kept piece stays right until a rating is added to it late or one of its ratings is
# marked; both are found from the rows added or marked since the piece was counted (by the primary key and
# the marked_at index: a handful of rows, never the month).
# A piece is kept only once it ended SETTLE ago, so transactions still open at midnight have landed.
_KEPT: dict[tuple[Any, ...], tuple[tuple[int, datetime | None], Any]] = {}
KEPT_LIMIT = 4096
SETTLE = timedelta(minutes=10)
Generation = tuple[int, datetime | None]  # the highest rating id, the latest marked_at


def _pieces(window: Window, now: datetime) -> list[tuple[Window, bool]]:
    """The window cut at the centre's month boundaries, and the months not yet over cut into days; True
    for a piece (a whole month or a whole day) that has ended. A 30-day chart then reads only today."""
    pieces: list[tuple[Window, bool]] = []
    start = window.since
    while start < window.until:
        local = start.astimezone(LOCAL)
        month = Window.month(local.year, local.month)
        end = min(month.until, window.until)
        if start == month.since and end == month.until and end + SETTLE <= now:
            pieces.append((Window(start, end), True))
        else:
            while start < end:
                day_end = min(datetime.combine(start.astimezone(LOCAL).date() + timedelta(days=1), time(), LOCAL), end)
                whole_day = day_end - start == timedelta(days=1) and day_end + SETTLE <= now
                pieces.append((Window(start, day_end), whole_day))
                start = day_end
        start = end
    return pieces


async def _generation(session: AsyncSession) -> Generation:
    # Two statements: each maximum is then read from the end of its index.
    top = await session.scalar(select(func.max(Rating.id)))
    marked = await session.scalar(select(func.max(Rating.marked_at)))
    return int(top or 0), marked


async def _touched(session: AsyncSession, since: Generation) -> list[datetime]:
    """When the ratings added or marked after `since` were made: the months they change."""
    added = (await session.scalars(select(Rating.created_at).where(Rating.id > since[0]))).all()
    marks = Rating.marked_at.is_not(None) if since[1] is None else Rating.marked_at > since[1]
    marked = (await session.scalars(select(Rating.created_at).where(marks))).all()
    return [*added, *marked]


async def _in_pieces(session: AsyncSession, window: Window, now: datetime | None, what: tuple[Any, ...],
                     count: Callable[[Window], Awaitable[Any]]) -> list[Any]:
    """`count` over the window: at once when no ended month is in it, else month by month with ended
    months kept."""
    pieces = _pieces(window, now) if now is not None else []
    if not any(whole for _part, whole in pieces):
        return [await count(window)]  # nothing to keep: one query over the window
    database = str(session.get_bind().engine.url)
    current = await _generation(session)
    touched: dict[Generation, list[datetime]] = {}
    found = []
    for part, whole in pieces:
        if not whole:
            found.append(await count(part))
            continue
        key = (database, *what, part.since, part.until)
        kept = _KEPT.get(key)
        if kept is not None and kept[0] != current:
            if kept[0] not in touched:
                touched[kept[0]] = await _touched(session, kept[0])
            if any(part.since <= at < part.until for at in touched[kept[0]]):
                kept = None  # a late rating or a mark in this piece: count it again
            else:
                _KEPT[key] = kept = (current, kept[1])  # unchanged up to now
        if kept is not None:
            found.append(kept[1])
            continue
        value = await count(part)
        if len(_KEPT) >= KEPT_LIMIT:
            _KEPT.clear()
        _KEPT[key] = (current, value)
        found.append(value)
    return found


def total(rows: Iterable[Figures], label: str = "合计") -> Figures:
    summed = Figures(key=None, label=label)
    for row in rows:
        summed.add(row)
    return summed


async def _label(session: AsyncSession, settings: Settings, by: str, period: str, rows: list[Figures]) -> None:
    if by == "agent":
        ids = [int(row.key) for row in rows if row.key is not None]
        names = dict((await session.execute(select(Agent.id, Agent.display_name).where(Agent.id.in_(ids)))).all()) \
            if ids else {}
        for row in rows:
            row.label = BOT if row.key is None else (names.get(int(row.key)) or f"坐席 {row.key}")
        return
    for row in rows:
        if row.key is None:
            row.label = UNNAMED
        elif by == "business":
            row.label = business_label(row.key, settings)
        elif by == "channel":
            row.label = CHANNELS.get(row.key, row.key)
        elif by == "period" and period == "week":
            row.label = f"{row.key} 当周"
        else:
            row.label = row.key


@lru_cache(maxsize=4)
def _catalogue(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}  # names are a courtesy: the codes still show
    return {str(k): str(v["name"]) for k, v in data.items() if isinstance(v, dict) and v.get("name")}


def business_label(key: str | None, settings: Settings) -> str:
    """The name in the centre's catalogue of online businesses (params/business.yml, beside the loan
    parameters) for a business code; a category or skill group (贷款) is its own name."""
    if key is None:
        return UNNAMED
    return _catalogue(settings.loan_params_path.parent / "business.yml").get(key, key)


def level_label(level: int) -> str:
    return LABELS[Level(level)] if level in LEVEL_VALUES else str(level)


async def reasons(session: AsyncSession, window: Window, *, filters: Filters = Filters(),
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """How often each reason was given with a bad rating (one rating may give several), in REASONS order.
    Only bad, unmarked ratings are read: a small share of the window, counted here since JSON lists
    are unnested differently by each database."""
    async def count(part: Window) -> tuple[Counter[str], int]:
        query = filters.apply(
            select(Rating.reasons)
            .where(Rating.created_at >= part.since, Rating.created_at < part.until,
                   Rating.level <= Level.DISSATISFIED, Rating.mark.is_(None)))
        counts: Counter[str] = Counter()
        bad = 0
        for (given,) in (await session.execute(query)).all():
            bad += 1
            counts.update(r for r in (given or []) if r in REASONS)
        return counts, bad

    counts: Counter[str] = Counter()
    bad = 0
    for part_counts, part_bad in await _in_pieces(session, window, now, ("reasons", filters), count):
        counts.update(part_counts)
        bad += part_bad
    return [{"reason": reason, "count": counts[reason], "share": scoring.share(counts[reason], bad)}
            for reason in REASONS]


async def rectification(session: AsyncSession, window: Window, *, now: datetime,
                        by_department: bool = False) -> dict[str, Any]:
    """The cases opened by the window's bad ratings: closed, replied on time (replied by `due_at`),
    overdue now (still owed work past `due_at`, as escalation counts it), called back at all and within the
    deadline (`callback_due_at`).
    With `by_department`, the same per department too."""
    c = RectificationCase
    replied_on_time = (c.replied_at.is_not(None)) & (c.replied_at <= c.due_at)
    late_open = c.status.in_(ACTIVE) & (c.due_at < now)
    in_time = c.called_back_at.is_not(None) & (c.called_back_at <= c.callback_due_at)

    def one(x: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(cast(x, Integer)), 0)

    columns = (func.count(), one(c.closed_at.is_not(None)), one(c.closed_at.is_not(None) & replied_on_time),
               one(late_open), one(c.called_back_at.is_not(None)), one(in_time), one(c.escalation > 0))
    rows = (await session.execute(
        select(c.department, *columns)
        .where(c.opened_at >= window.since, c.opened_at < window.until).group_by(c.department))).all()
    # One pass over the period's cases: the totals are the departments' sums.
    totals = _case_figures([sum(int(row[i] or 0) for row in rows) for i in range(1, len(columns) + 1)])
    if by_department:
        totals["departments"] = sorted(
            ({"department": row[0] or UNNAMED, **_case_figures(row[1:])} for row in rows),
            key=lambda d: (-d["opened"], d["department"]))
    return totals


def _case_figures(row: Sequence[Any]) -> dict[str, Any]:
    opened, closed, on_time, overdue, called, called_in_time, escalated = (int(v or 0) for v in row)
    return {
        "opened": opened, "closed": closed, "closed_on_time": on_time, "overdue_open": overdue,
        "called_back": called, "called_back_in_time": called_in_time, "escalated": escalated,
        "on_time": scoring.share(on_time, closed),
        "called_back_share": scoring.share(called, opened),
        "called_back_in_time_share": scoring.share(called_in_time, opened),
    }


async def overdue_cases(session: AsyncSession, settings: Settings, *, now: datetime,
                        limit: int = 50) -> list[dict[str, Any]]:
    """Cases still owed work (ratings.cases.ACTIVE: not waiting on an appeal, not yet replied) past their
    due time, the longest overdue first (the wall view): no personal data."""
    rows = (await session.execute(
        select(RectificationCase.id, RectificationCase.department, RectificationCase.due_at,
               RectificationCase.escalation, Rating.level, Rating.channel, Rating.business)
        .join(Rating, Rating.id == RectificationCase.rating_id)
        .where(RectificationCase.status.in_(ACTIVE), RectificationCase.due_at < now)
        .order_by(RectificationCase.due_at).limit(limit))).all()
    return [{"id": i, "department": d or UNNAMED, "due_at": due.isoformat(), "escalation": e, "level": lv,
             "level_label": level_label(lv), "channel": ch, "channel_label": CHANNELS.get(ch, ch),
             "business": business_label(b, settings)}
            for i, d, due, e, lv, ch, b in rows]


async def overdue_count(session: AsyncSession, *, now: datetime) -> int:
    c = RectificationCase
    return int(await session.scalar(select(func.count()).where(c.status.in_(ACTIVE), c.due_at < now)) or 0)


async def recent(session: AsyncSession, settings: Settings, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest ratings as the wall shows them: level, channel, business and department, never the
    citizen, the comment or the agent."""
    rows = (await session.execute(
        select(Rating.id, Rating.level, Rating.channel, Rating.business, Rating.department, Rating.created_at,
               Rating.agent_id.is_(None))
        .order_by(Rating.created_at.desc(), Rating.id.desc()).limit(limit))).all()
    return [{"id": i, "level": lv, "level_label": level_label(lv), "channel": ch,
             "channel_label": CHANNELS.get(ch, ch), "business": business_label(b, settings),
             "department": d or UNNAMED, "at": at.isoformat(), "bot": bot}
            for i, lv, ch, b, d, at, bot in rows]


def scored(rows: Iterable[Figures], settings: Settings) -> list[dict[str, Any]]:
    scores = scoring.scores(settings)
    return [row.as_dict(scores) for row in rows]
