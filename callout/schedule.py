"""When a campaign may call: windows of the day in the centre's time zone, weekdays, public holidays
(the console's holiday calendar, CONSOLE_HOLIDAYS) and the campaign's first and last day.

The clock is passed in (`core.clock.Clock`), so tests can freeze it across a window's end or a holiday.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from agent_console.hours import LOCAL, ServiceHours
from core.errors import ApiError
from core.settings import Settings

DEFAULT_WINDOWS: tuple[tuple[str, str], ...] = (("09:00", "12:00"), ("14:00", "20:00"))
DEFAULT_DAYS = (1, 2, 3, 4, 5)
DAY_NAMES = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
LOOK_AHEAD_DAYS = 400  # a plan with no open minute in this long is a mistake, not a schedule


@dataclass(frozen=True)
class Window:
    start: time
    end: time


@dataclass(frozen=True)
class CallingPlan:
    windows: tuple[Window, ...]
    days: frozenset[int]
    holidays: frozenset[date]
    call_on_holidays: bool = False
    starts_on: date | None = None
    ends_on: date | None = None

    def _day_allowed(self, day: date) -> bool:
        if self.starts_on and day < self.starts_on or self.ends_on and day > self.ends_on:
            return False
        if day in self.holidays and not self.call_on_holidays:
            return False
        return day.isoweekday() in self.days

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(LOCAL)
        if not self._day_allowed(local.date()):
            return False
        return any(w.start <= local.time() < w.end for w in self.windows)

    def closes_at(self, now: datetime) -> datetime | None:
        """The end of the window `now` is in (None when closed)."""
        local = now.astimezone(LOCAL)
        if not self._day_allowed(local.date()):
            return None
        for window in self.windows:
            if window.start <= local.time() < window.end:
                return datetime.combine(local.date(), window.end, LOCAL).astimezone(timezone.utc)
        return None

    def next_open(self, now: datetime) -> datetime | None:
        """`now` if open, else the start of the next window; None if the plan never opens again."""
        if self.is_open(now):
            return now
        local = now.astimezone(LOCAL)
        day = local.date()
        for _ in range(LOOK_AHEAD_DAYS):
            if self.ends_on and day > self.ends_on:
                return None
            if self._day_allowed(day):
                for window in self.windows:
                    opens = datetime.combine(day, window.start, LOCAL)
                    if opens > local:
                        return opens.astimezone(timezone.utc)
            day += timedelta(days=1)
        return None

    def finished(self, now: datetime) -> bool:
        """The campaign's last day is over."""
        return self.ends_on is not None and now.astimezone(LOCAL).date() > self.ends_on


def parse_window(start: str, end: str) -> Window:
    first, last = _HHMM.match(start or ""), _HHMM.match(end or "")
    if not first or not last:
        raise ApiError(422, "window_invalid", "呼叫时段格式不正确，请用 HH:MM，例如 09:00。")
    window = Window(time(int(first[1]), int(first[2])), time(int(last[1]), int(last[2])))
    if window.end <= window.start:
        raise ApiError(422, "window_invalid", "呼叫时段的结束时间必须晚于开始时间。")
    return window


def parse_windows(pairs: list[tuple[str, str]] | None) -> list[list[str]]:
    """Checked windows as stored (["HH:MM", "HH:MM"] pairs, in order, not overlapping)."""
    chosen = [parse_window(s, e) for s, e in (pairs or DEFAULT_WINDOWS)]
    chosen.sort(key=lambda w: w.start)
    for before, after in zip(chosen, chosen[1:], strict=False):
        if after.start < before.end:
            raise ApiError(422, "window_invalid", "呼叫时段之间不能重叠。")
    return [[f"{w.start:%H:%M}", f"{w.end:%H:%M}"] for w in chosen]


def parse_days(names: list[str] | None) -> list[int]:
    if names is None:
        return list(DEFAULT_DAYS)
    days = []
    for name in names:
        day = DAY_NAMES.get(str(name).strip().lower()[:3])
        if day is None:
            raise ApiError(422, "days_invalid", "呼叫日期请用 mon、tue、wed、thu、fri、sat、sun。")
        days.append(day)
    if not days:
        raise ApiError(422, "days_invalid", "至少选择一天可以呼叫。")
    return sorted(set(days))


def parse_quiet(text: str) -> list[tuple[time, time | None]]:
    """OUTREACH_QUIET_HOURS ("21:00-08:00", local) as intervals of one day [start, end), None: midnight;
    one that wraps midnight is two. "off" (or empty): none. (Settings checked the form at start.)"""
    text = (text or "").strip()
    if not text or text == "off":
        return []
    first, last = (time.fromisoformat(part) for part in text.split("-"))
    if first == last:
        return []
    if first < last:
        return [(first, last)]
    return [(first, None), (time(0, 0), last)]


def without_quiet(windows: tuple[Window, ...], quiet: list[tuple[time, time | None]]) -> tuple[Window, ...]:
    """The windows with the quiet hours cut out: what is left of each is still a window."""
    pieces = list(windows)
    for start, end in quiet:
        kept: list[Window] = []
        for window in pieces:
            if (end is not None and end <= window.start) or start >= window.end:
                kept.append(window)
                continue
            if window.start < start:
                kept.append(Window(window.start, start))
            if end is not None and end < window.end:
                kept.append(Window(end, window.end))
        pieces = kept
    return tuple(sorted(pieces, key=lambda w: w.start))


def plan_of(campaign, settings: Settings) -> CallingPlan:
    """The campaign's plan; the public holidays are the console's calendar (CONSOLE_HOLIDAYS), and the
    quiet hours (OUTREACH_QUIET_HOURS) hold for every campaign and channel whatever its windows say."""
    windows = tuple(parse_window(s, e) for s, e in campaign.windows)
    return CallingPlan(
        windows=without_quiet(windows, parse_quiet(settings.outreach_quiet_hours)),
        days=frozenset(campaign.days),
        holidays=ServiceHours.from_settings(settings).holidays,
        call_on_holidays=campaign.call_on_holidays,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
    )
