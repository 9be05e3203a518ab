"""RATING_SCORES and the definitions every figure uses: score, satisfaction (mean score / 10), shares."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.errors import ApiError
from core.settings import Settings
from ratings import scoring


def settings(**values: str) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def test_default_scores_are_local_practice() -> None:
    made = settings()
    assert [scoring.score(level, made) for level in (5, 4, 3, 2, 1)] == [10, 8, 6, 3, 0]
    assert scoring.scores(made) == {5: 10, 4: 8, 3: 6, 2: 3, 1: 0}


def test_changed_scores_apply() -> None:
    made = settings(rating_scores=" 10, 9 ,7,4 ,1 ")
    assert [scoring.score(level, made) for level in (5, 4, 3, 2, 1)] == [10, 9, 7, 4, 1]


@pytest.mark.parametrize("text", ["1,2,3", "10,8,6,3,0,0", "a,b,c,d,e", "10,8,6,3,11", "10,8,6,3,-1",
                                  "0,3,6,8,10", "10,8,nan,3,0", "10,8,inf,3,0", ""])
def test_wrong_scores_refuse_to_start(text: str) -> None:
    with pytest.raises(ValidationError, match="RATING_SCORES"):
        settings(rating_scores=text)


@pytest.mark.parametrize("level", [0, 6, -1, True])
def test_a_level_outside_the_scale_has_no_score(level: int) -> None:
    with pytest.raises(ApiError) as raised:
        scoring.score(level, settings())
    assert (raised.value.status, raised.value.code) == (422, "rating_level_invalid")


def test_satisfaction_and_shares() -> None:
    assert scoring.satisfaction(27, 5) == 0.54
    assert scoring.satisfaction(0, 0) is None  # nothing rated is not "all bad"
    assert scoring.share(2, 3) == 0.6667 and scoring.share(1, 0) is None
    assert scoring.is_good(4) and not scoring.is_good(3)
