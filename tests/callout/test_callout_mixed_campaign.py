"""A campaign of 200 people against the fake Twilio, with everything at once: numbers on the suppression
list before the start and put there during the run (by staff and by SMS 退订), busy lines, machines,
nobody answering, invalid numbers, and people who opt out during the call by key 9 or by voice. The
invariants are read from the database rows: every recipient reaches exactly one final state, attempts
never exceed the limit, nobody on the list is called after being listed, and the counts add up."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from sqlalchemy import func, select

from callout.models import Attempt, Campaign, Outcome, Recipient, RecipientState, Suppression
from fakes.twilio import Behaviour, FakeCall
from staff.models import Role
from tests.callout.helpers import PUBLIC_BASE, Line, login, people

MAX_ATTEMPTS = 2
FINAL = {o.value for o in Outcome} - {Outcome.CANCELLED.value, Outcome.EXPIRED.value, Outcome.TRANSFERRED.value}
# The part each person plays, by the last digit of their row (20 people each).
LISTED_BEFORE, BUSY, MACHINE, KEY_9, SAYS_NO, LISTED_DURING, NO_ANSWER, INVALID = range(8)  # 8, 9: answer
EXPECTED = {LISTED_BEFORE: "suppressed", BUSY: "busy", MACHINE: "machine", KEY_9: "opted_out", SAYS_NO: "opted_out",
            LISTED_DURING: "suppressed", NO_ANSWER: "no_answer", INVALID: "failed", 8: "answered", 9: "answered"}


def number(n: int) -> str:
    return f"+861390000{n:04d}"


async def attempts_of(line: Line, phone: str) -> int:
    """Attempt rows for this number, in any campaign, placed or refused."""
    async with line.callout.sessions() as session:
        return await session.scalar(select(func.count(Attempt.id)).join(Recipient, Recipient.id == Attempt.recipient_id)
                                    .where(Recipient.phone == phone))


async def play_opting_out(line: Line, call: FakeCall, gathered: dict[str, str]) -> None:
    """The call as Twilio sends it, with the person answering the message by `gathered` (a key or words)."""
    line.played.add(call.sid)
    for url, params in line.twilio.callbacks(call):
        answer = await line.post(url, params)
        assert answer.status_code in (200, 204), answer.text
        if url == call.params["Url"]:
            action = next(ET.fromstring(answer.text).iter("Gather")).get("action")
            bye = await line.post(action, params | gathered)
            assert "不再拨打" in "".join(say.text or "" for say in ET.fromstring(bye.text).iter("Say"))


async def play_round(line: Line) -> None:
    for call in [call for call in line.twilio.calls if call.sid not in line.played]:
        part = int(call.to[-4:]) % 10
        if part == KEY_9:
            await play_opting_out(line, call, {"Digits": "9"})
        elif part == SAYS_NO:
            await play_opting_out(line, call, {"SpeechResult": "以后不要再打这个电话了", "Confidence": "0.9"})
        else:
            await line.play(call)


async def test_two_hundred_people_every_rule_at_once(line):
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    audience = people(200)
    parts = {number(n): n % 10 for n in range(200)}
    behaviour = {BUSY: Behaviour("busy"), LISTED_DURING: Behaviour("busy"), MACHINE: Behaviour("machine"),
                 NO_ANSWER: Behaviour("no-answer"), INVALID: Behaviour(refuse=21211)}
    line.twilio.behaviours.update({phone: behaviour[part] for phone, part in parts.items() if part in behaviour})
    for phone in [p for p, part in parts.items() if part == LISTED_BEFORE]:
        added = await line.api.post("/api/v1/outreach/suppressions", json={"phone": phone}, headers=approver)
        assert added.status_code == 201, added.text
    body = {"name": "缴存基数调整通知", "channel": "voice", "message": "{name}您好，您的公积金缴存基数已调整，详询12329。",
            "recipients": audience, "window": {"start": "09:00", "end": "20:00"}, "max_attempts": MAX_ATTEMPTS,
            "retry_minutes": 30, "max_concurrent": 50, "calls_per_second": 10}
    campaign_id = await line.campaign(body, preparer=preparer, approver=approver)

    calls_when_listed: dict[str, int] = {}
    attempts_when_listed: dict[str, int] = {}

    def called(phone: str) -> int:
        return len(line.twilio.call_to(phone))

    for round_ in range(12):
        await line.dialer.dispatch(campaign_id)
        await play_round(line)
        if round_ == 0:  # mid-run: some were tried once already (busy, waiting to retry), most not yet
            during = [p for p, part in parts.items() if part == LISTED_DURING]
            for i, phone in enumerate(during):
                calls_when_listed[phone] = called(phone)
                attempts_when_listed[phone] = await attempts_of(line, phone)
                if i % 2:
                    answer = await line.api.post("/api/v1/outreach/suppressions", json={"phone": phone},
                                                 headers=approver)
                    assert answer.status_code == 201, answer.text
                else:
                    sms = {"MessageSid": f"SM{i:032d}", "AccountSid": line.twilio.account_sid, "From": phone,
                           "To": line.callout.settings.twilio_caller_id, "Body": "退订"}
                    answer = await line.post(f"{PUBLIC_BASE}/callout/twilio/sms", sms)
                    assert answer.status_code == 200 and "已退订" in answer.text
            assert any(calls_when_listed.values()) and not all(calls_when_listed.values())
        line.clock.advance(minutes=31)
        if (await line.status(campaign_id, preparer))["status"] == "completed":
            break
    shown = await line.status(campaign_id, preparer)
    assert shown["status"] == "completed", shown

    async with line.callout.sessions() as session:
        recipients = (await session.scalars(select(Recipient).where(Recipient.campaign_id == campaign_id))).all()
        attempts = (await session.scalars(select(Attempt).where(Attempt.campaign_id == campaign_id))).all()
        listed = {row.phone: row for row in (await session.scalars(select(Suppression))).all()}
        campaign = await session.get(Campaign, campaign_id)
    assert campaign.status == "completed" and len(recipients) == 200

    # Exactly one final state each, the one their part scripts.
    tries = Counter(attempt.recipient_id for attempt in attempts if attempt.counted)
    for person in recipients:
        assert person.state == RecipientState.DONE and person.outcome in FINAL, (person.phone, person.outcome)
        assert person.outcome == EXPECTED[parts[person.phone]], (person.phone, person.outcome)
        assert person.attempts == tries[person.id] <= MAX_ATTEMPTS, person.phone
        assert called(person.phone) <= MAX_ATTEMPTS
    assert all(attempt.outcome is not None for attempt in attempts)  # no attempt left open

    # Nobody on the list is called after being listed: before the start never, during the run no more.
    for phone, part in parts.items():
        if part == LISTED_BEFORE:
            assert called(phone) == await attempts_of(line, phone) == 0 and listed[phone].source == "staff"
        elif part == LISTED_DURING:
            assert called(phone) == calls_when_listed[phone] and listed[phone].source in ("staff", "sms")
            assert await attempts_of(line, phone) == attempts_when_listed[phone]
        elif part in (KEY_9, SAYS_NO):
            assert called(phone) == 1 and listed[phone].source == "call"
        elif part == BUSY:
            assert called(phone) == MAX_ATTEMPTS
    assert len(listed) == 80  # 20 before, 20 during, 40 who said so on the call

    # The counts add up, from the rows and from the API.
    by_outcome = Counter(person.outcome for person in recipients)
    assert by_outcome == Counter({"suppressed": 40, "answered": 40, "busy": 20, "machine": 20, "opted_out": 40,
                                  "no_answer": 20, "failed": 20})
    counts = shown["counts"]
    assert counts["total"] == counts["done"] == 200
    for outcome, people_count in by_outcome.items():
        assert counts[outcome] == people_count, outcome
    assert len(line.twilio.calls) == sum(1 for a in attempts if a.call_sid)

    # A later campaign to the same people calls none of the 80 listed numbers.
    again = await line.campaign(body | {"name": "第二轮通知"}, preparer=preparer, approver=approver)
    before = len(line.twilio.calls)
    await line.dialer.dispatch(again)
    await line.dialer.dispatch(again)
    assert not {call.to for call in line.twilio.calls[before:]} & set(listed)
    assert (await line.status(again, preparer))["counts"]["suppressed"] == 80
