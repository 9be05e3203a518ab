"""Outcomes over time: calls ended per hour or day (Asia/Shanghai) by outcome, each bucket's reach rate,
and the campaign's reach rate over people (the suppressed, never called, left out)."""
from __future__ import annotations

from fakes.twilio import Behaviour
from staff.models import Role
from tests.callout.helpers import login, people


def body(recipients: list[dict]) -> dict:
    return {"name": "政策变更告知", "channel": "voice", "message": "{name}您好，公积金政策有调整。",
            "recipients": recipients, "window": {"start": "09:00", "end": "20:00"}, "max_attempts": 2,
            "retry_minutes": 60, "max_concurrent": 50, "calls_per_second": 10}


async def test_outcomes_per_hour_and_the_reach_rate(line):
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    audience = people(4, start=40)
    phone = [f"+86{p['phone']}" for p in audience]
    await line.api.post("/api/v1/outreach/suppressions", json={"phone": phone[3]}, headers=approver)
    line.twilio.behaviours.update({phone[1]: Behaviour("busy"), phone[2]: Behaviour("no-answer")})
    campaign_id = await line.campaign(body(audience), preparer=preparer, approver=approver)
    url = f"/api/v1/campaigns/{campaign_id}/timeline"

    empty = (await line.api.get(url, headers=preparer)).json()
    assert (empty["buckets"], empty["reach_rate"], empty["settled"]) == ([], None, 0)

    for _round in range(2):  # 10:00, then the retries at 11:01
        await line.dialer.dispatch(campaign_id)
        await line.play_new()
        line.clock.advance(minutes=61)
    await line.dialer.dispatch(campaign_id)

    shown = (await line.api.get(url, headers=preparer)).json()
    assert shown["bucket"] == "hour" and shown["truncated"] is False
    assert [b["start"] for b in shown["buckets"]] == ["2026-12-07T10:00+08:00", "2026-12-07T11:00+08:00"]
    first, second = shown["buckets"]
    assert (first["counts"]["answered"], first["counts"]["busy"], first["counts"]["no_answer"]) == (1, 1, 1)
    assert (first["calls"], first["reach_rate"]) == (3, 0.3333)
    assert (second["counts"]["busy"], second["counts"]["no_answer"], second["reach_rate"]) == (1, 1, 0.0)
    assert "suppressed" not in first["counts"]
    assert (shown["settled"], shown["reached"], shown["reach_rate"]) == (3, 1, 0.3333)

    daily = (await line.api.get(f"{url}?bucket=day", headers=preparer)).json()
    assert [b["start"] for b in daily["buckets"]] == ["2026-12-07T00:00+08:00"]
    assert daily["buckets"][0]["calls"] == 5

    wrong = await line.api.get(f"{url}?bucket=week", headers=preparer)
    assert wrong.status_code == 422 and wrong.json()["code"] == "invalid_request"
    missing = await line.api.get("/api/v1/campaigns/9999/timeline", headers=preparer)
    assert missing.status_code == 404 and missing.json()["code"] == "campaign_not_found"
    agent = await login(line.callout, "desk", Role.AGENT)
    assert (await line.api.get(url, headers=agent)).status_code == 403
