"""The watch for the "claimed" event that connects a waiting caller to the agent who took the call
(the call asks for a person through the handoff contract, `conversations/handoff.py`)."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from conversations.events import Claimed
from conversations.hub import conversation_topic
from core.bus import EventBus

log = logging.getLogger(__name__)

OnClaimed = Callable[[str, Claimed], Awaitable[None]]


class ClaimWatcher:
    """One task per waiting call, subscribed to its conversation's topic until an agent claims it,
    the call ends, or `max_wait_s` passes."""

    def __init__(self, bus: EventBus, on_claimed: OnClaimed, max_wait_s: float = 3600) -> None:
        self._bus = bus
        self._on_claimed = on_claimed
        self._max_wait_s = max_wait_s
        self._tasks: dict[str, asyncio.Task] = {}

    @property
    def active(self) -> int:
        return len(self._tasks)

    def watching(self, call_sid: str) -> bool:
        return call_sid in self._tasks

    async def start(self, call_sid: str, conversation_id: str) -> None:
        """Returns once subscribed, so a claim made right after the handoff request is not missed."""
        self.stop(call_sid)
        ready = asyncio.Event()
        task = asyncio.create_task(self._watch(call_sid, conversation_id, ready))
        self._tasks[call_sid] = task
        task.add_done_callback(lambda done: self._forget(call_sid, done))
        waiter = asyncio.create_task(ready.wait())
        await asyncio.wait({waiter, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    def stop(self, call_sid: str) -> None:
        task = self._tasks.pop(call_sid, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, call_sid: str, task: asyncio.Task) -> None:
        if self._tasks.get(call_sid) is task:
            del self._tasks[call_sid]

    async def _watch(self, call_sid: str, conversation_id: str, ready: asyncio.Event) -> None:
        try:
            async with asyncio.timeout(self._max_wait_s):
                async with self._bus.subscribe(conversation_topic(conversation_id)) as events:
                    ready.set()
                    async for event in events:
                        if isinstance(event, Claimed):
                            await self._on_claimed(call_sid, event)
                            return
        except TimeoutError:
            log.info("stopped waiting for a claim on call %s", call_sid)
        except Exception:
            log.exception("claim watch failed for call %s", call_sid)
