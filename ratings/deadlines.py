"""The rectification clock, run in every service process: overdue cases escalate (the supervisor, then
the centre) and replied cases without a follow-up rating close. Each change is a conditional UPDATE, so
several processes running this at once act on each case once."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from ratings.cases import check_deadlines
from ratings.context import Ratings

log = logging.getLogger(__name__)


class DeadlineWatch:
    def __init__(self, ratings: Ratings) -> None:
        self._ratings = ratings
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="rectification-deadlines")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await check_deadlines(self._ratings, self._ratings.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("rectification deadline check failed")  # the next round tries again
            await self._ratings.clock.sleep(self._ratings.settings.rectify_check_minutes * 60)
