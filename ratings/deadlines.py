"""The rectification clock, run in every service process: overdue cases escalate (the supervisor, then
the centre) and replied cases without a follow-up rating close. Each change is a conditional UPDATE, so
several processes running this at once act on each case once."""
from __future__ import annotations

from core.periodic import Background, repeat
from ratings.cases import check_deadlines
from ratings.context import Ratings


class DeadlineWatch:
    def __init__(self, ratings: Ratings) -> None:
        self._ratings = ratings
        self._background = Background()

    def start(self) -> None:
        ratings = self._ratings
        self._background.start(**{"rectification-deadlines": repeat(
            lambda: check_deadlines(ratings, ratings.clock.now()),
            lambda: ratings.settings.rectify_check_minutes * 60, ratings.clock.sleep,
            what="rectification deadline check")})

    async def stop(self) -> None:
        await self._background.stop()
