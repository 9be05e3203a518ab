"""Calls to agents: the agent pool's handoff (`agent_console.handoff`, the handoff contract) and the
watch for the "claimed" event that connects a waiting caller to the agent who took the call."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from conversations.hub import conversation_topic
from core.bus import EventBus

log = logging.getLogger(__name__)

OnClaimed = Callable[[str, dict], Awaitable[None]]


class HandoffUnavailable(RuntimeError):
    pass


@dataclass
class Outcome:
    """The contract's HandoffOutcome, as the phone line reads it."""

    outcome: str  # queued | callback | already_waiting | already_with_agent
    position: int | None = None
    estimated_wait_s: int | None = None
    ticket_id: int | None = None
    message: str = ""


def pool_handoff() -> Callable[..., Awaitable[object]]:
    """The pool's `request_handoff` (resolved per call: the agent pool is a separate package)."""
    from agent_console.handoff import request_handoff

    return request_handoff


async def request_handoff(app_state: object, *, conversation_id: str, contact: str, intent: str | None) -> Outcome:
    try:
        handoff = pool_handoff()
    except ImportError as exc:
        raise HandoffUnavailable("the agent pool (agent_console.handoff) is not installed") from exc
    result = await handoff(
        app_state, conversation_id=conversation_id, reason="citizen_request", intent=intent, contact=contact
    )
    return Outcome(
        outcome=str(result.outcome),
        position=result.position,
        estimated_wait_s=result.estimated_wait_s,
        ticket_id=result.ticket_id,
        message=result.message or "",
    )


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
                        if event.get("type") == "claimed":
                            await self._on_claimed(call_sid, event)
                            return
        except TimeoutError:
            log.info("stopped waiting for a claim on call %s", call_sid)
        except Exception:
            log.exception("claim watch failed for call %s", call_sid)
