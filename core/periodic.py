"""Background work of a service process: a round repeated every so often, where one failing round is
logged and the next goes on, and the set of tasks a part starts and stops with the service."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


async def repeat(
    round_: Callable[[], Awaitable[object]], every_s: Callable[[], float], sleep: Callable[[float], Awaitable[None]],
    *, what: str, wait_first: bool = False,
) -> None:
    """`round_()` forever, `every_s()` seconds apart (read each time: a setting may change in a test).
    `wait_first`: a starting service has other things to do first, and nothing is lost by waiting."""
    if wait_first:
        await sleep(every_s())
    while True:
        try:
            await round_()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", what)  # the next round tries again
        await sleep(every_s())


class Background:
    """Named tasks started together and cancelled together."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[object]] = []

    def start(self, **work: Coroutine[Any, Any, object]) -> None:
        self._tasks += [asyncio.create_task(coroutine, name=name) for name, coroutine in work.items()]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
