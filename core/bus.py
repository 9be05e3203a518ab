"""Event bus: fan-out of live events (new messages, pool changes) to websockets.

In-process by default; Redis pub/sub when REDIS_URL is set, so several service instances
behind a load balancer see each other's events. Events are small JSON dicts; the database
stays the record, the bus only says "look again".
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

log = logging.getLogger(__name__)


class EventBus(Protocol):
    async def publish(self, topic: str, event: dict) -> None: ...

    def subscribe(self, *topics: str) -> asynccontextmanager[AsyncIterator[dict]]: ...

    async def close(self) -> None: ...


class LocalBus:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue]] = defaultdict(set)

    async def publish(self, topic: str, event: dict) -> None:
        for queue in list(self._queues.get(topic, ())):
            queue.put_nowait({"topic": topic, **event})

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[dict]]:
        queue: asyncio.Queue = asyncio.Queue()
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


async def _drain(queue: asyncio.Queue) -> AsyncIterator[dict]:
    while True:
        yield await queue.get()


class RedisBus:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)

    async def publish(self, topic: str, event: dict) -> None:
        await self._redis.publish(f"hpf:{topic}", json.dumps({"topic": topic, **event}, ensure_ascii=False))

    @asynccontextmanager
    async def subscribe(self, *topics: str) -> AsyncIterator[AsyncIterator[dict]]:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(*(f"hpf:{t}" for t in topics))
        try:
            yield self._listen(pubsub)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    @staticmethod
    async def _listen(pubsub) -> AsyncIterator[dict]:
        async for message in pubsub.listen():
            if message.get("type") == "message":
                yield json.loads(message["data"])

    async def close(self) -> None:
        await self._redis.aclose()


def make_bus(redis_url: str) -> EventBus:
    return RedisBus(redis_url) if redis_url else LocalBus()
