"""Event bus: fan-out of live events (new messages, pool changes) to websockets.

In-process by default; Redis pub/sub when REDIS_URL is set, so several service instances
behind a load balancer see each other's events. Events are typed (`core/events.py`); between
instances they travel as small JSON objects. The database stays the record, the bus only says
"look again".
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from core.events import Event, WireError

if TYPE_CHECKING:
    from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)


class EventBus(Protocol):
    async def publish(self, topic: str, event: Event) -> None: ...

    def subscribe(self, *topics: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]: ...

    async def close(self) -> None: ...


@dataclass
class Outbox:
    """The events a state change announces, published once the transaction that made the change has
    committed: an event says "look again", and a reader who looks before the commit sees nothing new."""

    entries: list[tuple[str, Event]] = field(default_factory=list)

    def add(self, topic: str, event: Event) -> Outbox:
        self.entries.append((topic, event))
        return self

    def extend(self, other: Outbox) -> Outbox:
        self.entries.extend(other.entries)
        return self

    async def publish(self, bus: EventBus) -> None:
        for topic, event in self.entries:
            await bus.publish(topic, event)


class LocalBus:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)

    async def publish(self, topic: str, event: Event) -> None:
        queues = self._queues.get(topic)
        if queues:
            delivered = event.delivered_on(topic)  # frozen: every subscriber may share it
            for queue in list(queues):
                queue.put_nowait(delivered)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        for topic in topics:
            self._queues[topic].add(queue)
        try:
            yield _drain(queue)
        finally:
            for topic in topics:
                self._queues[topic].discard(queue)
                if not self._queues[topic]:
                    del self._queues[topic]

    async def close(self) -> None:
        self._queues.clear()


async def _drain(queue: asyncio.Queue[Event]) -> AsyncIterator[Event]:
    while True:
        yield await queue.get()


class RedisBus:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)

    async def publish(self, topic: str, event: Event) -> None:
        wire = json.dumps({"topic": topic, **event.to_wire()}, ensure_ascii=False)
        await self._redis.publish(f"hpf:{topic}", wire)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[Event]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(*(f"hpf:{t}" for t in topics))
        try:
            yield self._listen(pubsub)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis leaves PubSub.aclose unannotated

    @staticmethod
    async def _listen(pubsub: PubSub) -> AsyncIterator[Event]:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                yield Event.from_wire(json.loads(message["data"]))
            except (ValueError, WireError) as exc:
                # Another version of the service, or a stray publisher: skipped, the subscriber goes on.
                log.warning("ignored an event on %s: %s", message.get("channel"), exc)

    async def close(self) -> None:
        await self._redis.aclose()


def make_bus(redis_url: str) -> EventBus:
    return RedisBus(redis_url) if redis_url else LocalBus()
