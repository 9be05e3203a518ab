"""Redis going away does not take the service with it: with a Redis server of this test's own, stopped
and started again, an instance's own events still reach its own subscribers, publishing never raises,
and subscriptions come back by themselves, each told to look again (Resync), then carry events between
instances as before."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from conversations.events import NewMessage, Typing
from core.bus import RedisBus, Resync
from server.stack import free_port

pytestmark = pytest.mark.redis


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed (apt-get install redis-server)"
        self.process = subprocess.Popen([server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
                                        stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis()
    redis.start()
    yield redis
    if redis.process and redis.process.poll() is None:
        redis.kill()


async def next_of(events, timeout: float = 10.0):
    return await asyncio.wait_for(anext(events), timeout=timeout)


async def test_an_outage_keeps_local_events_and_ends_in_a_resync(own_redis):
    here, there = RedisBus(own_redis.url), RedisBus(own_redis.url)
    topic = f"c-{uuid.uuid4().hex}"
    try:
        async with here.subscribe(topic) as events:
            await there.publish(topic, Typing())  # before: between instances
            assert isinstance(await next_of(events), Typing)

            own_redis.kill()
            started = time.monotonic()
            await here.publish(topic, NewMessage(message={"n": 1}))  # never raises
            assert time.monotonic() - started < 3, "a dead Redis must not hold a publisher up"
            local = await next_of(events)
            assert isinstance(local, NewMessage) and local.message == {"n": 1}  # this instance's own socket
            await there.publish(topic, NewMessage(message={"n": 2}))  # lost between instances: in the database

            own_redis.start()  # same port, empty
            assert isinstance(await next_of(events, timeout=20), Resync)  # look again
            await asyncio.sleep(0.2)
            await there.publish(topic, NewMessage(message={"n": 3}))
            after = await next_of(events)
            assert isinstance(after, NewMessage) and after.message == {"n": 3}
    finally:
        await here.close()
        await there.close()


async def test_subscribing_while_redis_is_down_works_and_joins_later(own_redis):
    bus = RedisBus(own_redis.url)
    topic = f"d-{uuid.uuid4().hex}"
    own_redis.kill()
    try:
        async with bus.subscribe(topic) as events:  # a page connecting during the outage is not refused
            await bus.publish(topic, Typing())
            assert isinstance(await next_of(events), Typing)
            own_redis.start()
            assert isinstance(await next_of(events, timeout=20), Resync)
    finally:
        await bus.close()


async def test_rate_limits_let_citizens_through_while_redis_is_away(own_redis):
    from core.limits import Limit, RateLimiter, RedisCounter

    limiter = RateLimiter({"citizen": Limit(1, 60)}, RedisCounter(own_redis.url))
    try:
        await limiter.check("citizen", "app_messages", "u1")
        own_redis.kill()
        started = time.monotonic()
        await limiter.check("citizen", "app_messages", "u1")  # over the limit, but uncounted: served
        assert time.monotonic() - started < 3
    finally:
        await limiter.close()
