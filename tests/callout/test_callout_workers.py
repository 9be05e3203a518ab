"""Exactly once, durably: two `python -m callout.worker` processes share a campaign on PostgreSQL with
the queue in Redis; one is killed with SIGKILL mid-run. Every recipient still reaches exactly one final
state, nobody is called twice, nobody on the suppression list is called."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from callout import campaigns
from callout.context import Callout
from callout.models import Attempt, CampaignStatus, Recipient
from callout.provider import TwilioProvider
from callout.queue import CalloutQueue
from core.clock import SystemClock
from core.db import make_engine, make_sessionmaker, migrate
from core.settings import Settings
from fakes.twilio import Behaviour
from server.stack import ROOT, quiet_env
from staff.models import Role
from tests.callout.helpers import Line, campaign_app, client, login, people, phone_settings
from tests.databases import reset_postgres

EVERY_MINUTE = {"windows": [{"start": "00:00", "end": "23:59"}],
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "call_on_holidays": True}


def worker(env: dict[str, str], log: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "callout.worker", "--workers", "2"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.postgres
async def test_two_workers_one_killed_mid_run(suite_postgres_url, redis_url, tmp_path, fake_twilio):
    reset_postgres(suite_postgres_url)
    migrate(suite_postgres_url)
    fake_twilio.calls.clear()
    fake_twilio.behaviours.clear()
    audience = people(60)
    numbers = [f"+86{p['phone']}" for p in audience]
    for number in numbers[40:50]:
        fake_twilio.behaviours[number] = Behaviour("busy")
    for number in numbers[50:55]:
        fake_twilio.behaviours[number] = Behaviour("machine")
    values = {"callout_queue": "redis", "redis_url": redis_url, "callout_attempt_lease_s": 60,
              "outreach_quiet_hours": "off", **phone_settings(fake_twilio)}  # calls at any hour the test runs
    settings = Settings(data_dir=tmp_path, database_url=suite_postgres_url, **values)
    queue = CalloutQueue(settings)
    queue.huey.flush()  # a queue of its own: nothing left from an earlier run
    engine = make_engine(suite_postgres_url)
    callout = Callout(settings=settings, sessions=make_sessionmaker(engine), clock=SystemClock(), queue=queue,
                      provider=TwilioProvider(settings))
    env = quiet_env(DATABASE_URL=suite_postgres_url, DATA_DIR=str(tmp_path), CALLOUT_WORKERS="0",
                    **{name.upper(): str(value) for name, value in values.items()})
    logs = open(tmp_path / "workers.log", "w")  # noqa: SIM115 (closed below)
    first, second = worker(env, logs), worker(env, logs)
    try:
        async with client(campaign_app(callout)) as api:
            line = Line(callout=callout, api=api, twilio=fake_twilio, clock=callout.clock)
            preparer = await login(callout, "planner", Role.CAMPAIGNER)
            approver = await login(callout, "lead", Role.SUPERVISOR)
            for number in numbers[55:]:
                await api.post("/api/v1/outreach/suppressions", json={"phone": number}, headers=approver)
            body = {"name": "耐久", "message": "{name}您好。", "recipients": audience, "max_attempts": 1,
                    "calls_per_second": 10, "max_concurrent": 20, **EVERY_MINUTE}
            campaign_id = await line.campaign(body, preparer=preparer, approver=approver)

            killed = False
            deadline = time.monotonic() + 240
            while True:
                await line.play_new()
                if not killed and len(fake_twilio.calls) >= 10:
                    os.kill(first.pid, signal.SIGKILL)  # mid-run: it may hold the lease and claims
                    killed = True
                shown = await campaigns.get(callout, campaign_id)
                if shown.status == CampaignStatus.COMPLETED:
                    break
                assert time.monotonic() < deadline, (tmp_path / "workers.log").read_text()[-3000:]
                assert second.poll() is None, "the surviving worker exited"
                await asyncio.sleep(0.2)

        assert killed
        called = [call.to for call in fake_twilio.calls]
        assert len(called) == len(set(called)) == 55  # everyone once, nobody twice
        assert not set(called) & set(numbers[55:])  # nobody on the list
        async with callout.sessions() as session:
            states = dict((await session.execute(
                select(Recipient.state, func.count()).group_by(Recipient.state))).all())
            over = await session.scalar(select(func.count()).where(Recipient.attempts > 1))
            counted = await session.scalar(select(func.count()).select_from(Attempt).where(Attempt.counted))
        assert states == {"done": 60} and over == 0 and counted == 55
        tally = (await campaigns.describe(callout, campaign_id))["counts"]
        assert (tally["answered"], tally["busy"], tally["machine"], tally["suppressed"]) == (40, 10, 5, 5)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (first, second):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()
        await engine.dispose()
