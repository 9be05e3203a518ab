"""Staffed hours, for the promise made with a callback ticket ("we will contact you …")."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.settings import Settings

LOCAL = ZoneInfo("Asia/Shanghai")
WEEKDAYS = "一二三四五六日"
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DAYS = re.compile(r"^([1-7])(?:-([1-7]))?$")


@dataclass(frozen=True)
class ServiceHours:
    opens: time
    closes: time
    days: frozenset[int]  # ISO weekdays, 1 = Monday
    holidays: frozenset[date]

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceHours:
        hours = _HOURS.match(settings.console_service_hours.replace(" ", ""))
        if not hours:
            raise ValueError("CONSOLE_SERVICE_HOURS must look like 09:00-17:00")
        opens, closes = time(int(hours[1]), int(hours[2])), time(int(hours[3]), int(hours[4]))
        if closes <= opens:
            raise ValueError("CONSOLE_SERVICE_HOURS: the closing time must follow the opening time")
        days: set[int] = set()
        for part in filter(None, settings.console_service_days.replace(" ", "").split(",")):
            match = _DAYS.match(part)
            if not match:
                raise ValueError("CONSOLE_SERVICE_DAYS must look like 1-5 or 1-5,7 (1 = Monday)")
            days.update(range(int(match[1]), int(match[2] or match[1]) + 1))
        holidays = frozenset(date.fromisoformat(d.strip()) for d in settings.console_holidays.split(",") if d.strip())
        return cls(opens, closes, frozenset(days), holidays)

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.days and day not in self.holidays

    def next_contact(self, now: datetime) -> tuple[datetime, str]:
        """By when the citizen can expect contact, and how to say it."""
        local = now.astimezone(LOCAL)
        span = f"{self.opens:%H:%M}–{self.closes:%H:%M}"
        if self.is_working_day(local.date()) and local.time() < self.closes:
            deadline = datetime.combine(local.date(), self.closes, LOCAL)
            phrase = f"今天{self.closes:%H:%M}前" if local.time() >= self.opens else f"今天{span}"
            return deadline, phrase
        day = local.date() + timedelta(days=1)
        for _ in range(60):  # a closed stretch longer than two months is a configuration mistake
            if self.is_working_day(day):
                break
            day += timedelta(days=1)
        ahead = (day - local.date()).days
        name = {1: "明天", 2: "后天"}.get(ahead, f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）")
        return datetime.combine(day, self.closes, LOCAL), f"{name}{span}"

    def describe(self) -> str:
        ordered = sorted(self.days)
        if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)):
            days = f"周{WEEKDAYS[ordered[0] - 1]}至周{WEEKDAYS[ordered[-1] - 1]}"
        else:
            days = "、".join(f"周{WEEKDAYS[d - 1]}" for d in ordered)
        return f"{days} {self.opens:%H:%M}–{self.closes:%H:%M}"
