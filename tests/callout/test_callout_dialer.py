"""The dialer against the local fake Twilio, with a frozen clock: outcomes, retries, caps and pace,
calling windows across their end and a holiday, provider errors, the SMS fall-back, callbacks."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy import func, select

from callout.dialer import Claim, Dialer
from callout.models import Attempt, Campaign, Recipient, Suppression
from fakes.twilio import Behaviour
from staff.models import AuditEntry, Role
from tests.callout.helpers import local, login, people


def body(recipients: list[dict], **extra: object) -> dict:
    return {"name": "补充材料提醒", "channel": "voice", "message": "{name}您好，您的提取申请还缺少材料，请尽快补交。",
            "recipients": recipients, "window": {"start": "09:00", "end": "20:00"}, "max_attempts": 2,
            "retry_minutes": 30, "max_concurrent": 50, "calls_per_second": 10, **extra}


async def staff(line) -> tuple[dict, dict]:
    return await login(line.callout, "planner", Role.CAMPAIGNER), await login(line.callout, "lead", Role.SUPERVISOR)


async def rows(line, model, **where) -> list:
    async with line.callout.sessions() as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list((await session.scalars(query.order_by(model.id))).all())


async def test_a_campaign_runs_to_the_end_with_every_outcome(line):
    preparer, approver = await staff(line)
    audience = people(12)
    phone = [f"+86{p['phone']}" for p in audience]
    await line.api.post("/api/v1/outreach/suppressions", json={"phone": phone[0]}, headers=approver)
    behaviours = {phone[2]: Behaviour("busy"), phone[3]: Behaviour("busy"), phone[4]: Behaviour("machine"),
                  phone[5]: Behaviour("machine"), phone[6]: Behaviour(refuse=21211), phone[7]: Behaviour(refuse=21610),
                  phone[8]: Behaviour("no-answer")}
    line.twilio.behaviours.update(behaviours)
    campaign_id = await line.campaign(body(audience, sms_message="{name}您好，您的提取申请缺少材料，详询12329。"),
                                      preparer=preparer, approver=approver)
    # Added after the start, before the dialer reached them: still never called.
    await line.api.post("/api/v1/outreach/suppressions", json={"phone": phone[1]}, headers=approver)

    for _round in range(4):
        await line.dialer.dispatch(campaign_id)
        await line.play_new()
        await line.run_queue()
        line.clock.advance(minutes=31)
    await line.dialer.dispatch(campaign_id)

    shown = await line.status(campaign_id, preparer)
    assert shown["status"] == "completed"
    counts = shown["counts"]
    assert (counts["answered"], counts["machine"], counts["busy"], counts["no_answer"]) == (3, 2, 2, 1)
    assert (counts["failed"], counts["opted_out"], counts["suppressed"], counts["done"]) == (1, 1, 2, 12)
    assert counts["sms_sent"] == 3  # the two busy and the one nobody answered, after their last attempt
    called = [call.to for call in line.twilio.calls]
    assert phone[0] not in called and phone[1] not in called
    assert called.count(phone[2]) == 2 and called.count(phone[4]) == 1  # a voicemail was left: final
    assert all(called.count(number) <= 2 for number in phone)
    for recipient in await rows(line, Recipient, campaign_id=campaign_id):
        assert recipient.attempts <= 2 and recipient.state == "done"
    voicemails = [update for call in line.twilio.calls for update in call.updates]
    assert len(voicemails) == 2 and all("/callout/twilio/voicemail?a=" in u["Url"] for u in voicemails)
    assert sorted(m["To"] for m in line.twilio.messages) == sorted([phone[2], phone[3], phone[8]])
    assert line.twilio.messages[0]["Body"].startswith("市民")
    listed = {row.phone: row.source for row in await rows(line, Suppression)}
    assert listed[phone[7]] == "provider"
    refused = (await rows(line, Attempt, recipient_id=(await rows(line, Recipient, phone=phone[6]))[0].id))[0]
    assert (refused.error_code, refused.outcome, refused.counted) == (21211, "failed", True)
    answered = [a for a in await rows(line, Attempt, campaign_id=campaign_id) if a.outcome == "answered"][0]
    assert answered.duration_s == 20 and answered.answered_at is not None and answered.call_sid.startswith("CA")
    call = line.twilio.calls[0].params
    assert call["MachineDetection"] == "DetectMessageEnd" and call["AsyncAmd"] == "true"
    assert call["From"] == "+861088880000" and "initiated" in call["StatusCallbackEvent"]

    # The drill-down and the export show every person and every try, numbers masked.
    busy = (await line.api.get(f"/api/v1/campaigns/{campaign_id}/recipients?outcome=busy", headers=preparer)).json()
    assert busy["total"] == 2 and busy["recipients"][0]["phone"] == "139****0002"
    detail = (await line.api.get(f"/api/v1/campaigns/{campaign_id}/recipients/{busy['recipients'][0]['id']}",
                                 headers=preparer)).json()
    assert [(t["channel"], t["outcome"]) for t in detail["tries"]] == [("voice", "busy"), ("voice", "busy"),
                                                                      ("sms", "answered")]
    assert detail["fallback"] == "sms_sent"
    missing = await line.api.get(f"/api/v1/campaigns/{campaign_id}/recipients/9999", headers=preparer)
    assert missing.status_code == 404 and missing.json()["code"] == "recipient_not_found"
    export = await line.api.get(f"/api/v1/campaigns/{campaign_id}/export.csv", headers=preparer)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.lstrip("\ufeff").splitlines()
    assert len(lines) == 13 and lines[0].startswith("row,phone,name,state,outcome")
    assert "139****0002,市民2,done,busy,2,sms_sent" in export.text and "+86" not in export.text
    assert (await line.api.get("/api/v1/campaigns/999/export.csv", headers=preparer)).status_code == 404


async def test_pace_and_cap(line):
    preparer, approver = await staff(line)
    campaign_id = await line.campaign(body(people(10), max_concurrent=3, calls_per_second=2),
                                      preparer=preparer, approver=approver)
    started = line.clock.now()
    again = await line.dialer.dispatch(campaign_id)
    assert len(line.twilio.calls) == 3  # the cap: three at once
    claimed = [attempt.claimed_at - started for attempt in await rows(line, Attempt, campaign_id=campaign_id)]
    assert claimed == [timedelta(seconds=0), timedelta(seconds=0.5), timedelta(seconds=1)]  # two per second
    assert again is not None and again > line.clock.now()
    await line.play(line.twilio.calls[0])  # one ends: a line is free
    await line.dialer.dispatch(campaign_id)
    assert len(line.twilio.calls) == 4


async def test_windows_stop_at_the_end_and_resume_after_the_holiday(line):
    preparer, approver = await staff(line)
    line.clock.at = local(2026, 12, 24, 19, 59, 58)  # Thursday; Friday the 25th is a holiday
    campaign_id = await line.campaign(body(people(5), calls_per_second=1), preparer=preparer, approver=approver)
    resume_at = await line.dialer.dispatch(campaign_id)
    assert len(line.twilio.calls) == 2  # 19:59:58 and 19:59:59; none at 20:00
    assert resume_at == local(2026, 12, 28, 9, 0)  # not Friday (holiday), not the weekend
    await line.play_new()
    line.clock.at = local(2026, 12, 26, 10, 0)  # a Saturday: someone runs the dispatcher anyway
    assert await line.dialer.dispatch(campaign_id) == local(2026, 12, 28, 9, 0)
    assert len(line.twilio.calls) == 2
    line.clock.at = resume_at
    await line.dialer.dispatch(campaign_id)
    assert len(line.twilio.calls) == 5


async def test_provider_outage_is_retried_without_counting(line):
    preparer, approver = await staff(line)
    number = "+8613900000000"
    line.twilio.behaviours[number] = Behaviour(refuse=20500)
    campaign_id = await line.campaign(body(people(1)), preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)
    attempt = (await rows(line, Attempt, campaign_id=campaign_id))[0]
    assert (attempt.error_code, attempt.counted, attempt.outcome) == (20500, False, "failed")
    person = (await rows(line, Recipient, campaign_id=campaign_id))[0]
    assert (person.state, person.attempts) == ("retry", 0)
    del line.twilio.behaviours[number]
    line.clock.advance(seconds=31)
    await line.dialer.dispatch(campaign_id)
    assert [call.to for call in line.twilio.calls] == [number]
    person = (await rows(line, Recipient, campaign_id=campaign_id))[0]
    assert (person.state, person.attempts, person.tries) == ("calling", 1, 2)


async def test_a_misconfigured_account_pauses_the_campaign(line):
    preparer, approver = await staff(line)
    line.twilio.behaviours["+8613900000000"] = Behaviour(refuse=21210)
    campaign_id = await line.campaign(body(people(3)), preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)
    shown = await line.status(campaign_id, preparer)
    counts = shown["counts"]
    # Calls already on their way when the refusal came are placed; nobody else is claimed.
    assert shown["status"] == "paused" and counts["retry"] == 1 and counts["pending"] + counts["calling"] == 2
    tries = len(await rows(line, Attempt, campaign_id=campaign_id))
    assert await line.dialer.dispatch(campaign_id) is None
    assert len(await rows(line, Attempt, campaign_id=campaign_id)) == tries
    entries = await rows(line, AuditEntry, action="campaign_pause")
    assert entries[0].actor == "system" and entries[0].detail["code"] == 21210


async def test_claims_are_decided_by_the_database(line):
    """Twenty dispatchers at the same instant: one call per pace slot, nobody claimed twice."""
    preparer, approver = await staff(line)
    campaign_id = await line.campaign(body(people(30), calls_per_second=100), preparer=preparer, approver=approver)
    async with line.callout.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
    results = await asyncio.gather(*(Dialer(line.callout)._claim(campaign, line.clock.now()) for _ in range(20)))
    assert sum(isinstance(result, Claim) for result in results) == 1
    claimed = []
    for _ in range(40):
        line.clock.advance(seconds=0.01)
        results = await asyncio.gather(*(Dialer(line.callout)._claim(campaign, line.clock.now()) for _ in range(3)))
        claimed += [result.recipient_id for result in results if isinstance(result, Claim)]
    assert len(claimed) == len(set(claimed)) == 29  # one per slot, until the 30 were all taken
    # Only one dispatcher runs a campaign at a time.
    runs = await asyncio.gather(*(Dialer(line.callout)._take_lease(campaign_id, line.clock.now(),
                                                                  line.clock.now() + timedelta(seconds=30))
                                  for _ in range(5)))
    assert runs.count(True) == 1


async def test_an_attempt_never_placed_is_recovered(line):
    """A dispatcher killed between its claim and the call: after the lease the person is tried again,
    and the lost try does not count."""
    preparer, approver = await staff(line)
    campaign_id = await line.campaign(body(people(1)), preparer=preparer, approver=approver)
    async with line.callout.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
    assert isinstance(await line.dialer._claim(campaign, line.clock.now()), Claim)  # … and then it died
    await line.dialer.dispatch(campaign_id)
    assert line.twilio.calls == []  # still held by the dead claim
    line.clock.advance(seconds=line.callout.settings.callout_attempt_lease_s + 1)
    await line.dialer.dispatch(campaign_id)
    assert len(line.twilio.calls) == 1
    lost, placed = await rows(line, Attempt, campaign_id=campaign_id)
    assert (lost.status, lost.counted, placed.seq) == ("lost", False, 2)
    person = (await rows(line, Recipient, campaign_id=campaign_id))[0]
    assert person.attempts == 1


async def test_callbacks_are_verified_and_stored_once(line):
    preparer, approver = await staff(line)
    campaign_id = await line.campaign(body(people(1)), preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)
    call = line.twilio.calls[0]
    url, params = line.twilio.callbacks(call)[-1]  # completed
    forged = await line.post(url, params, signature="bad")
    assert forged.status_code == 403 and forged.json()["code"] == "bad_signature"
    outcome = {"direction": "outbound", "outcome": params["CallStatus"]}
    counted = REGISTRY.get_sample_value("hpf_calls_total", outcome) or 0.0
    assert (await line.post(url, params)).status_code == 204
    assert (await line.post(url, params)).status_code == 204  # Twilio's retry: stored once, settled once
    assert REGISTRY.get_sample_value("hpf_calls_total", outcome) == counted + 1, "counted once on /metrics"
    async with line.callout.sessions() as session:
        settled = await session.scalar(select(func.count()).select_from(Attempt).where(Attempt.outcome.is_not(None)))
    assert settled == 1
    elsewhere = url.replace("?a=1", "?a=999")
    assert (await line.post(elsewhere, params)).json()["code"] == "unknown_attempt"
    other_call = await line.post(url, params | {"CallSid": "CA" + "9" * 32})
    assert other_call.status_code == 409 and other_call.json()["code"] == "call_mismatch"
