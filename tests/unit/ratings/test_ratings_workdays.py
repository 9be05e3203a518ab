"""The rectification calendar: weekends, the State Council's holidays and their 调休 Saturdays and Sundays,
deadlines at the end of the Nth working day, and a wrong file named with its key."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ratings.workdays import CalendarError, WorkCalendar, calendar, parse

LOCAL = ZoneInfo("Asia/Shanghai")


def test_the_2026_schedule_as_published() -> None:
    days = calendar()
    assert not days.is_working_day(date(2026, 2, 16))  # 春节
    assert days.is_working_day(date(2026, 2, 14)) and days.is_working_day(date(2026, 2, 28))  # 调休 Saturdays
    assert days.is_working_day(date(2026, 1, 4))  # a Sunday worked after 元旦
    assert not days.is_working_day(date(2026, 10, 7)) and days.is_working_day(date(2026, 10, 10))
    assert days.is_working_day(date(2026, 12, 7)) and not days.is_working_day(date(2026, 12, 12))


def test_deadlines_end_on_the_nth_working_day() -> None:
    days = calendar()
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=LOCAL)
    assert days.add_working_days(friday, 1) == datetime(2026, 12, 7, 23, 59, 59, tzinfo=LOCAL)
    # Opened on the Saturday of a weekend: the Monday is the first working day.
    assert days.add_working_days(datetime(2026, 12, 5, 9, 0, tzinfo=LOCAL), 1).date() == date(2026, 12, 7)
    # Over the new year: 12-31, (01-01 元旦, the weekend), 01-04 … 01-07.
    assert days.add_working_days(datetime(2026, 12, 30, 9, 0, tzinfo=LOCAL), 5).date() == date(2027, 1, 7)
    # Across 春节 2026 with both 调休 Saturdays.
    assert days.add_working_days(datetime(2026, 2, 13, 9, 0, tzinfo=LOCAL), 2).date() == date(2026, 2, 24)
    # A UTC time late in the evening is already the next local day.
    utc_evening = datetime(2026, 12, 3, 17, 0, tzinfo=ZoneInfo("UTC"))  # Friday 01:00 in Shanghai
    assert days.add_working_days(utc_evening, 1).date() == date(2026, 12, 7)
    assert days.working_days_between(friday, datetime(2026, 12, 8, 9, 0, tzinfo=LOCAL)) == 2


def test_the_2027_statutory_days_are_off() -> None:
    days = calendar()
    for day in (date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8), date(2027, 10, 1)):
        assert not days.is_working_day(day)


@pytest.mark.parametrize(("text", "message"), [
    ("- 1", "顶层须是以年份为键的映射"),
    ("2026: {holidays: [2026-13-01]}", "日期"),
    ("2026: {holidays: ['2026-02-30']}", "2026.holidays"),
    ("2026: {holidays: ['2026-01-05..2026-01-01']}", "结束早于开始"),
    ("2026: {holidays: [2025-12-31]}", "不在 2026 年"),
    ("2026: {workdays: [2026-01-05]}", "本是工作日"),
    ("2026: {holidays: [2026-01-04], workdays: [2026-01-04]}", "既是假日又是调休工作日"),
    ("2026: {rest: []}", "只能有 holidays 和 workdays"),
    ("2026: [", "不是合法的 YAML"),
])
def test_a_wrong_file_is_named_with_its_key(text: str, message: str) -> None:
    with pytest.raises(CalendarError) as error:
        parse(text, "holidays.yml")
    assert "holidays.yml" in str(error.value) and message in str(error.value)


def test_an_empty_calendar_is_weekdays() -> None:
    plain = WorkCalendar(frozenset(), frozenset())
    assert plain.is_working_day(date(2026, 10, 1)) and not plain.is_working_day(date(2026, 10, 3))
