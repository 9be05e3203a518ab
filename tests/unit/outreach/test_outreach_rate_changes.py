"""Which loans a new rate table concerns: each old rate that moved, with its one new rate; an old rate
that moved to two different new rates is left out rather than guessed."""
from __future__ import annotations

from datetime import date

from outreach.events import rate_changes, rates_of
from policy.loan_params import RateEntry, RatePair


def entry(first: tuple[float, float], second: tuple[float, float], effective: date = date(2026, 1, 1)) -> RateEntry:
    return RateEntry(effective=effective, source="测试", first_home=RatePair(upto_5y=first[0], over_5y=first[1]),
                     second_home=RatePair(upto_5y=second[0], over_5y=second[1]))


def test_each_moved_rate_with_its_new_rate() -> None:
    old = rates_of(entry((2.1, 2.6), (2.525, 3.075)))
    new = rates_of(entry((1.85, 2.6), (2.275, 2.825), date(2027, 1, 1)))
    assert old["effective"] == "2026-01-01"
    assert rate_changes(old, new) == [
        {"old_rate": 2.1, "new_rate": 1.85, "kind": "hpf"},
        {"old_rate": 2.525, "new_rate": 2.275, "kind": "hpf"},
        {"old_rate": 3.075, "new_rate": 2.825, "kind": "hpf"},
    ]
    assert rate_changes(old, old) == []


def test_an_old_rate_moving_two_ways_is_left_out() -> None:
    old = rates_of(entry((2.6, 2.6), (3.0, 3.5)))
    new = rates_of(entry((2.35, 2.4), (3.0, 3.25)))
    assert rate_changes(old, new) == [{"old_rate": 3.5, "new_rate": 3.25, "kind": "hpf"}]
