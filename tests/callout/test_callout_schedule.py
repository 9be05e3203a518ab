"""Calling windows in the centre's time zone: days of the week, public holidays, the campaign's dates."""
from __future__ import annotations

from datetime import date, time

import pytest

from callout import messages, phones
from callout.schedule import CallingPlan, Window, parse_days, parse_windows
from core.errors import ApiError
from tests.callout.helpers import local

PLAN = CallingPlan(
    windows=(Window(time(9), time(12)), Window(time(14), time(20))),
    days=frozenset({1, 2, 3, 4, 5}),
    holidays=frozenset({date(2026, 12, 25)}),
)


def test_windows_days_and_holidays():
    assert PLAN.is_open(local(2026, 12, 7, 9, 0))
    assert not PLAN.is_open(local(2026, 12, 7, 8, 59, 59))
    assert not PLAN.is_open(local(2026, 12, 7, 12, 0))
    assert PLAN.next_open(local(2026, 12, 7, 12, 30)) == local(2026, 12, 7, 14, 0)
    assert PLAN.closes_at(local(2026, 12, 7, 19, 0)) == local(2026, 12, 7, 20, 0)
    assert PLAN.next_open(local(2026, 12, 4, 20, 0)) == local(2026, 12, 7, 9, 0)  # Friday night → Monday
    assert PLAN.next_open(local(2026, 12, 24, 20, 0)) == local(2026, 12, 28, 9, 0)  # Christmas Friday closed
    assert CallingPlan(PLAN.windows, frozenset(range(1, 8)), PLAN.holidays, call_on_holidays=True).is_open(
        local(2026, 12, 25, 10, 0))


def test_campaign_dates():
    plan = CallingPlan(PLAN.windows, PLAN.days, frozenset(), starts_on=date(2026, 12, 8), ends_on=date(2026, 12, 8))
    assert not plan.is_open(local(2026, 12, 7, 10, 0))
    assert plan.next_open(local(2026, 12, 7, 10, 0)) == local(2026, 12, 8, 9, 0)
    assert plan.next_open(local(2026, 12, 8, 20, 0)) is None
    assert plan.finished(local(2026, 12, 9, 0, 0)) and not plan.finished(local(2026, 12, 8, 23, 59))


def test_parsing_refuses_bad_input():
    assert parse_windows(None) == [["09:00", "12:00"], ["14:00", "20:00"]]
    assert parse_days(["Sat", "sunday"]) == [6, 7]
    for bad in ([("9:00", "12:00")], [("10:00", "09:00")], [("09:00", "12:00"), ("11:00", "13:00")]):
        with pytest.raises(ApiError) as refused:
            parse_windows(bad)
        assert refused.value.code == "window_invalid"
    with pytest.raises(ApiError):
        parse_days(["someday"])


def test_numbers_and_templates():
    assert phones.normalise("0086 138-1234-5678") == "+8613812345678"
    assert phones.normalise("(010) 1234 5678") == "+861012345678"
    assert phones.mask("+8613812345678") == "138****5678"
    template = messages.parse("{name}您好，{{注意}}：{amount}元")
    assert template.variables == ("name", "amount")
    assert template.render({"name": "张三", "amount": "12"}) == "张三您好，{注意}：12元"
    with pytest.raises(ApiError):
        messages.parse("{0}")
    with pytest.raises(ApiError):
        messages.parse("{name")
