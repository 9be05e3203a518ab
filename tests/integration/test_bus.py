"""The event bus fans out to every subscriber of a topic, in process and through a real Redis."""
import asyncio
import uuid

import pytest

from core.bus import LocalBus, RedisBus


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def bus(request):
    bus = LocalBus() if request.param == "local" else RedisBus(request.getfixturevalue("redis_url"))
    yield bus
    await bus.close()


async def test_publish_reaches_every_subscriber_of_the_topic_only(bus):
    topic, other = f"t-{uuid.uuid4().hex}", f"o-{uuid.uuid4().hex}"
    async with bus.subscribe(topic) as first, bus.subscribe(topic) as second, bus.subscribe(other) as third:
        await asyncio.sleep(0.1)  # Redis confirms subscriptions asynchronously
        await bus.publish(topic, {"type": "message", "n": 1})
        got = await asyncio.wait_for(asyncio.gather(anext(first), anext(second)), timeout=3)
        assert [e["n"] for e in got] == [1, 1] and got[0]["topic"] == topic
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(anext(third), timeout=0.3)


async def test_two_redis_buses_see_each_others_events(redis_url):
    """Two service instances: an event published by one reaches a socket held by the other."""
    one, two = RedisBus(redis_url), RedisBus(redis_url)
    topic = f"x-{uuid.uuid4().hex}"
    try:
        async with two.subscribe(topic) as events:
            await asyncio.sleep(0.1)
            await one.publish(topic, {"type": "typing"})
            assert (await asyncio.wait_for(anext(events), timeout=3))["type"] == "typing"
    finally:
        await one.close()
        await two.close()
