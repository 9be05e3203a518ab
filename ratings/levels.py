"""The five levels of the national government-service rating scale and their default scores."""
from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    """Stored as the number; 5 is the best, so "5" on a keypad or a WeChat reply means 非常满意."""

    VERY_SATISFIED = 5
    SATISFIED = 4
    BASIC = 3
    DISSATISFIED = 2
    VERY_DISSATISFIED = 1

    @property
    def label(self) -> str:
        return LABELS[self]

    @property
    def bad(self) -> bool:
        """不满意 and 非常不满意 open a rectification case."""
        return self <= Level.DISSATISFIED


LABELS: dict[Level, str] = {
    Level.VERY_SATISFIED: "非常满意",
    Level.SATISFIED: "满意",
    Level.BASIC: "基本满意",
    Level.DISSATISFIED: "不满意",
    Level.VERY_DISSATISFIED: "非常不满意",
}
# Local practice scores the levels 10/8/6/3/0; RATING_SCORES overrides (see core.settings).
DEFAULT_SCORES: dict[Level, float] = {
    Level.VERY_SATISFIED: 10, Level.SATISFIED: 8, Level.BASIC: 6, Level.DISSATISFIED: 3, Level.VERY_DISSATISFIED: 0,
}
