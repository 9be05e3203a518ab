"""Working days for rectification deadlines: weekends off, public holidays off, and the weekend days the
State Council makes working days (调休), from ratings/holidays.yml."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

FILE = Path(__file__).with_name("holidays.yml")
LOCAL = ZoneInfo("Asia/Shanghai")
# A deadline "within N working days" runs to the end of the Nth working day, the centre's local time.
END_OF_DAY = time(23, 59, 59)


class CalendarError(ValueError):
    """The holiday file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date]
    workdays: frozenset[date]  # weekend days worked instead (调休上班)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.isoweekday() <= 5 and day not in self.holidays

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the `days`-th working day after `start`'s local day (the day itself does not count:
        a case opened on Friday with one working day is due at the end of Monday)."""
        day = start.astimezone(LOCAL).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return datetime.combine(day, END_OF_DAY, LOCAL)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days after `start`'s local day up to and including `end`'s."""
        first, last = start.astimezone(LOCAL).date(), end.astimezone(LOCAL).date()
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def _dates(value: object, where: str) -> Iterable[date]:
    if isinstance(value, date):
        return [value]
    if isinstance(value, str) and ".." in value:
        first_text, last_text = value.split("..", 1)
        try:
            first, last = date.fromisoformat(first_text.strip()), date.fromisoformat(last_text.strip())
        except ValueError as exc:
            raise CalendarError(f"{where}: {value!r} 须是 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD") from exc
        if last < first:
            raise CalendarError(f"{where}: {value!r} 结束早于开始")
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]
    try:
        return [date.fromisoformat(str(value))]
    except ValueError as exc:
        raise CalendarError(f"{where}: {value!r} 须是 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD") from exc


def parse(text: str, name: str = FILE.name) -> WorkCalendar:
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for a date like 2026-13-01
        raise CalendarError(f"{name}: 不是合法的 YAML 或日期: {exc}") from exc
    if not isinstance(data, dict):
        raise CalendarError(f"{name}: 顶层须是以年份为键的映射")
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - {"holidays", "workdays"}:
            raise CalendarError(f"{name}: {year}: 只能有 holidays 和 workdays")
        for key, into in (("holidays", holidays), ("workdays", workdays)):
            for item in entry.get(key) or []:
                for day in _dates(item, f"{name}: {year}.{key}"):
                    if day.year != int(year):
                        raise CalendarError(f"{name}: {year}.{key}: {day} 不在 {year} 年")
                    into.add(day)
    both = holidays & workdays
    if both:
        raise CalendarError(f"{name}: {min(both)} 既是假日又是调休工作日")
    weekday_workdays = sorted(d for d in workdays if d.isoweekday() <= 5)
    if weekday_workdays:
        raise CalendarError(f"{name}: workdays: {weekday_workdays[0]} 本是工作日（只写调休上班的周末）")
    return WorkCalendar(frozenset(holidays), frozenset(workdays))


@lru_cache(maxsize=1)
def calendar() -> WorkCalendar:
    return parse(FILE.read_text(encoding="utf-8"))
