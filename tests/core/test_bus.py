"""The event bus fans out to every subscriber of a topic, in process and through a real Redis."""
import asyncio
import json
import uuid

import pytest

from conversations.events import NewMessage, StatusChanged, Typing
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
        await bus.publish(topic, NewMessage(message={"n": 1}))
        got = await asyncio.wait_for(asyncio.gather(anext(first), anext(second)), timeout=3)
        assert [e.message["n"] for e in got] == [1, 1] and got[0].topic == topic
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(anext(third), timeout=0.3)


async def test_two_redis_buses_see_each_others_events(redis_url):
    """Two service instances: an event published by one reaches a socket held by the other."""
    one, two = RedisBus(redis_url), RedisBus(redis_url)
    topic = f"x-{uuid.uuid4().hex}"
    try:
        async with two.subscribe(topic) as events:
            await asyncio.sleep(0.1)
            await one.publish(topic, Typing())
            assert isinstance(await asyncio.wait_for(anext(events), timeout=3), Typing)
    finally:
        await one.close()
        await two.close()


async def test_a_subscriber_skips_what_is_no_known_event_with_a_log_line_and_goes_on(redis_url, caplog):
    """Another version of the service, or a stray publisher, on the same Redis: never a crashed socket."""
    import redis.asyncio as redis

    bus, stray = RedisBus(redis_url), redis.from_url(redis_url)
    topic = f"s-{uuid.uuid4().hex}"
    try:
        async with bus.subscribe(topic) as events:
            await asyncio.sleep(0.1)
            for raw in ("not json", json.dumps({"topic": topic, "type": "no.such.event"}),
                        json.dumps({"topic": topic, "type": "status"})):
                await stray.publish(f"hpf:{topic}", raw)
            await bus.publish(topic, StatusChanged(status="bot"))
            got = await asyncio.wait_for(anext(events), timeout=3)
        assert got == StatusChanged(status="bot").delivered_on(topic)
        assert len([r for r in caplog.records if r.getMessage().startswith("ignored an event")]) == 3
    finally:
        await stray.aclose()
        await bus.close()
