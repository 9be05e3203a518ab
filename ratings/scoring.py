"""How a rating counts in every figure: its score, satisfaction and the share of good ratings.

Definitions used everywhere (the analysis pages, the report, the public page, the agents' standing):
- score: RATING_SCORES gives each level a number, 10/8/6/3/0 by default (local practice);
- satisfaction (满意度) = the mean score of the ratings counted / 10, a share from 0 to 1;
- share of good (好评率) = (非常满意 + 满意) / all ratings counted;
- share of bad (差评率) = (不满意 + 非常不满意) / all ratings counted.
Ratings marked by an upheld appeal (`Rating.mark`) are not counted in any of these; they are counted apart.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import ColumnElement, case

from core.errors import ApiError
from core.settings import Settings, parse_rating_scores
from ratings.levels import Level


@lru_cache(maxsize=8)
def _scores(text: str) -> dict[int, float]:
    values = parse_rating_scores(text)
    return {int(level): value for level, value in zip(sorted(Level, reverse=True), values, strict=True)}


def scores(settings: Settings) -> dict[int, float]:
    """Each level (5 非常满意 … 1 非常不满意) to its score under this installation's settings."""
    return dict(_scores(settings.rating_scores))


def score(level: int, settings: Settings) -> float:
    """The score of one rating; a level outside 1..5 is refused as the recording path refuses it."""
    table = _scores(settings.rating_scores)
    if isinstance(level, bool) or level not in table:
        raise ApiError(422, "rating_level_invalid", "评价等级须为1至5（非常不满意至非常满意）")
    return table[level]


def satisfaction(score_sum: float, count: int) -> float | None:
    """Mean score over 10; None when nothing was rated (a figure of 0 would read as all bad)."""
    return None if count == 0 else round(score_sum / count / 10, 4)


def share(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def is_good(level: int) -> bool:
    return level >= Level.SATISFIED


def score_sql(level: ColumnElement[int], settings: Settings) -> ColumnElement[float]:
    """The score as a SQL expression, so the database sums it instead of the service reading every row."""
    table = _scores(settings.rating_scores)
    return case(*((level == lv, float(v)) for lv, v in table.items()), else_=0.0)
