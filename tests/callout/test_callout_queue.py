"""The dialer's work on the real task queue (Huey on SQLite, workers inside the process, the real clock):
a campaign is started, dispatched by the queue, its calls end, and the queue completes it."""
from __future__ import annotations

import asyncio
import time

from callout import campaigns
from callout.models import CampaignStatus
from callout.queue import CalloutQueue
from callout.startup import build
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from staff.models import Role
from tests.callout.helpers import Line, campaign_app, client, local, login, people, phone_settings


async def wait_for(check, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_the_queue_runs_a_campaign_to_completion(database_url, tmp_path, fake_twilio):
    fake_twilio.calls.clear()
    settings = Settings(data_dir=tmp_path, database_url=database_url, callout_queue="sqlite",
                        outreach_quiet_hours="off", **phone_settings(fake_twilio))  # at any hour the test runs
    engine = make_engine(database_url)
    callout, queue = build(settings, make_sessionmaker(engine))
    assert isinstance(queue, CalloutQueue) and (tmp_path / "callout-queue.db").exists()
    queue.bind(callout, asyncio.get_running_loop())
    queue.start_workers(2)
    try:
        async with client(campaign_app(callout)) as api:
            line = Line(callout=callout, api=api, twilio=fake_twilio, clock=callout.clock)
            preparer = await login(callout, "planner", Role.CAMPAIGNER)
            approver = await login(callout, "lead", Role.SUPERVISOR)
            every_minute = {"windows": [{"start": "00:00", "end": "23:59"}],
                            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "call_on_holidays": True}
            body = {"name": "测试", "message": "{name}您好。", "recipients": people(4), "calls_per_second": 5,
                    **every_minute}
            campaign_id = await line.campaign(body, preparer=preparer, approver=approver)

            async def all_called() -> bool:
                return len(fake_twilio.calls) == 4

            await wait_for(all_called)
            for call in list(fake_twilio.calls):
                await line.play(call)

            async def completed() -> bool:
                return (await campaigns.get(callout, campaign_id)).status == CampaignStatus.COMPLETED

            await wait_for(completed)
            assert (await line.status(campaign_id, preparer))["counts"]["answered"] == 4
            assert len(fake_twilio.calls) == 4
    finally:
        await queue.stop_workers()
        await engine.dispose()


async def test_the_minute_sweep_wakes_only_campaigns_inside_their_window(line):
    """A campaign outside its window already has a dispatcher scheduled for the next one: the sweep
    adds none (else a night would pile up hundreds of dispatchers for the morning)."""
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    body = {"name": "测试", "message": "{name}您好。", "recipients": people(2), "window": {"start": "09:00", "end": "20:00"}}
    campaign_id = await line.campaign(body, preparer=preparer, approver=approver)
    queue = CalloutQueue(line.callout.settings)
    queue.bind(line.callout, asyncio.get_running_loop())
    assert await queue._running(open_now=True) == [campaign_id]
    line.clock.at = local(2026, 12, 7, 21, 0)
    assert await queue._running(open_now=True) == []
    assert await queue._running() == [campaign_id]  # at start every running campaign gets a dispatcher
