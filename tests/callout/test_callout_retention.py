"""Retention: call records, consent evidence and outcomes kept CALLOUT_RETENTION_DAYS (never under 30);
after that a daily task anonymises the records of finished campaigns (outcomes and counts stay) and
never touches the suppression list. A frozen clock stands in for the months."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from callout import retention
from callout.models import Attempt, CallEvent, Campaign, Contact, Recipient, Suppression
from callout.queue import CalloutQueue
from core.settings import Settings
from fakes.twilio import Behaviour
from staff.models import Role
from tests.callout.helpers import login, people


def test_the_retention_setting_never_goes_under_30_days(tmp_path):
    assert Settings(data_dir=tmp_path).callout_retention_days == 180
    assert Settings(data_dir=tmp_path, callout_retention_days=30).callout_retention_days == 30
    with pytest.raises(ValidationError, match="CALLOUT_RETENTION_DAYS=29 is too short"):
        Settings(data_dir=tmp_path, callout_retention_days=29)


def test_the_purge_runs_daily_on_the_queue(tmp_path):
    queue = CalloutQueue(Settings(data_dir=tmp_path, callout_queue="sqlite"))
    daily = [task for task in queue.huey._registry.periodic_tasks if task.name == "callout_retention"]
    assert len(daily) == 1
    at = datetime(2026, 12, 7, 19, 30, tzinfo=timezone.utc).replace(tzinfo=None)  # Huey passes naive UTC
    assert daily[0].validate_datetime(at) and not daily[0].validate_datetime(at.replace(hour=3))
    queue.huey.storage.close()


def body(recipients: list[dict]) -> dict:
    return {"name": "材料补交提醒", "channel": "voice", "message": "{name}您好，请补交材料。", "recipients": recipients,
            "window": {"start": "09:00", "end": "20:00"}, "max_attempts": 1, "max_concurrent": 50,
            "calls_per_second": 10}


async def count(line, query) -> int:
    async with line.callout.sessions() as session:
        return int(await session.scalar(query) or 0)


async def test_finished_campaigns_are_anonymised_after_the_period_and_the_list_stays(line):
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    audience = people(3, start=60)
    phone = [f"+86{p['phone']}" for p in audience]
    await line.api.post("/api/v1/outreach/suppressions", json={"phone": phone[2], "reason": "本人要求"},
                        headers=approver)
    line.twilio.behaviours[phone[1]] = Behaviour("busy")
    finished = await line.campaign(body(audience), preparer=preparer, approver=approver)
    for _round in range(2):
        await line.dialer.dispatch(finished)
        await line.play_new()
    assert (await line.status(finished, preparer))["status"] == "completed"
    running = await line.campaign(body(people(1, start=70)), preparer=preparer, approver=approver)
    before = (await line.status(finished, preparer))["counts"]
    events = select(func.count()).select_from(CallEvent).join(Attempt).where(Attempt.campaign_id == finished)
    assert await count(line, events) > 0
    contacts = select(func.count()).select_from(Contact)
    assert await count(line, contacts) == 2  # the two numbers called, for the weekly cap

    line.clock.advance(days=179)  # within the period: everything kept
    assert await retention.purge(line.callout) == []
    assert await count(line, events) > 0
    assert await count(line, contacts) == 0  # past the week: a number and a time are not kept longer

    line.clock.advance(days=2)
    assert await retention.purge(line.callout) == [finished]
    assert await retention.purge(line.callout) == []  # once
    assert await count(line, events) == 0
    async with line.callout.sessions() as session:
        people_left = (await session.scalars(select(Recipient).where(Recipient.campaign_id == finished))).all()
        tries = (await session.scalars(select(Attempt).where(Attempt.campaign_id == finished))).all()
        listed = (await session.scalars(select(Suppression))).all()
        other = (await session.scalars(select(Recipient).where(Recipient.campaign_id == running))).all()
        purged_at = await session.scalar(select(Campaign.purged_at).where(Campaign.id == finished))
    assert purged_at is not None
    assert all(p.phone.startswith("~") and p.name == "" and p.variables == {} for p in people_left)
    assert tries and all(t.call_sid is None and t.last_twiml is None and t.outcome for t in tries)
    assert [(s.phone, s.reason) for s in listed] == [(phone[2], "本人要求")]  # consent evidence: never purged
    assert [p.phone for p in other] == ["+8613900000070"]  # not finished: untouched
    assert (await line.status(finished, preparer))["counts"] == before  # outcomes and counts stay
    export = await line.api.get(f"/api/v1/campaigns/{finished}/export.csv", headers=preparer)
    assert export.status_code == 200 and "1390000" not in export.text
