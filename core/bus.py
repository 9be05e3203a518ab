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


class Resync(Event):
    """Said to a subscriber when its Redis subscription came back after an outage: events published on
    other instances meanwhile did not reach it, so it should look again (the database is the record)."""

    type = "resync"


_REDIS_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class RedisBus:
    """Redis pub/sub between instances. Redis going away does not take the service with it: an event
    that cannot be published there is delivered to this instance's own subscribers (a citizen's replies
    come from the instance holding their socket), subscriptions come back by themselves, and each
    subscriber is then told to look again (`Resync`) for what other instances said meanwhile."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        # Short timeouts: a stalled Redis must cost a request a second, not the citizen's answer.
        self._redis = redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._local = LocalBus()
        self._down_logged = False

    async def publish(self, topic: str, event: Event) -> None:
        from redis.exceptions import RedisError

        wire = json.dumps({"topic": topic, **event.to_wire()}, ensure_ascii=False)
        try:
            await self._redis.publish(f"hpf:{topic}", wire)
            self._down_logged = False
        except (RedisError, OSError) as exc:
            if not self._down_logged:  # once per outage, not once per event
                log.warning("redis unavailable (%s): live events reach this instance only", type(exc).__name__)
                self._down_logged = True
            await self._local.publish(topic, event)

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        async with self._local.subscribe(*topics) as local:
            # Subscribed before the caller reads its history: nothing said after that is missed.
            first = await self._subscribed(topics)
            tasks = [asyncio.create_task(_pump(local, queue)),
                     asyncio.create_task(self._pump_redis(topics, queue, first))]
            try:
                yield _drain(queue)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _subscribed(self, topics: tuple[str, ...]) -> PubSub | None:
        from redis.exceptions import RedisError

        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(*(f"hpf:{t}" for t in topics))
            return pubsub
        except (RedisError, OSError):
            await _close_quietly(pubsub)
            return None

    async def _pump_redis(self, topics: tuple[str, ...], queue: asyncio.Queue[Event], pubsub: PubSub | None) -> None:
        from redis.exceptions import RedisError

        failures = 0 if pubsub is not None else 1
        while True:
            if pubsub is None:
                await asyncio.sleep(_REDIS_RETRY_S[min(failures, len(_REDIS_RETRY_S)) - 1])
                pubsub = await self._subscribed(topics)
                if pubsub is None:
                    failures += 1
                    continue
                await queue.put(Resync())  # back: what other instances said meanwhile is in the database
                failures = 0
            try:
                async for event in self._listen(pubsub):
                    await queue.put(event)
            except (RedisError, OSError):
                failures += 1
            await _close_quietly(pubsub)
            pubsub = None

    @staticmethod
    async def _listen(pubsub: PubSub) -> AsyncIterator[Event]:
        while True:
            # A timeout between messages is normal (nothing was said); a lost connection raises.
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is None or message.get("type") != "message":
                continue
            try:
                yield Event.from_wire(json.loads(message["data"]))
            except (ValueError, WireError) as exc:
                # Another version of the service, or a stray publisher: skipped, the subscriber goes on.
                log.warning("ignored an event on %s: %s", message.get("channel"), exc)

    async def close(self) -> None:
        await self._redis.aclose()


async def _close_quietly(pubsub: PubSub) -> None:
    from redis.exceptions import RedisError

    try:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis leaves PubSub.aclose unannotated
    except (RedisError, OSError):
        pass


async def _pump(source: AsyncIterator[Event], queue: asyncio.Queue[Event]) -> None:
    async for event in source:
        await queue.put(event)


def make_bus(redis_url: str) -> EventBus:
    return RedisBus(redis_url) if redis_url else LocalBus()
