"""Work that outlives the request that started it (a late answer, a push), kept referenced until
done, logged if it fails, and given a moment to finish when the service stops."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine

log = logging.getLogger(__name__)


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()  # the event loop keeps only weak references

    def spawn(self, work: Coroutine, name: str) -> asyncio.Task:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("wechat: background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("wechat: %d background tasks cancelled at shutdown", len(pending))
