"""Campaigns on message channels (SMS, WeChat template, app push, personal card) through the dialer and
each channel's local fake; the weekly cap across campaigns, the quiet hours and the suppression list
for messages; the SMS delivery callback (signed) and the funnel's sent and delivered stages."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select

from callout import delivery, suppressions
from callout.dialer import Claim, Dialer
from callout.models import Attempt, Campaign, Contact, Outcome, Recipient, Suppression
from callout.notices import WeChatNotices
from callout.push import AppPush
from callout.schedule import Window, parse_quiet, parse_window, without_quiet
from conversations.models import Citizen, Identity
from core.settings import Settings
from fakes.app_push import FakeAppPush
from fakes.twilio import Behaviour
from fakes.wechat import FakeWeChat
from outreach.models import Card, FunnelEvent
from staff.models import Role
from tests.callout.helpers import PUBLIC_BASE, local, login, people

TEMPLATE = "TPL_POLICY"


@pytest.fixture(scope="module")
def fake_wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat(token="channels-token", appid="wx-channels", secret="channels-secret") as fake:
        fake.templates.add(TEMPLATE)
        yield fake


@pytest.fixture(scope="module")
def fake_push() -> Iterator[FakeAppPush]:
    with FakeAppPush(secret="push-secret-for-tests") as fake:
        yield fake


@pytest.fixture
def messages_line(line, fake_wechat, fake_push):
    """The phone line's engine with WeChat and app push configured against their fakes."""
    fake_wechat.template_sent.clear()
    fake_push.pushes.clear()
    fake_push.fail_with, fake_push.forged = None, 0
    settings = Settings(**(line.callout.settings.model_dump() | {
        "wechat_appid": fake_wechat.appid, "wechat_secret": fake_wechat.secret, "wechat_api_base": fake_wechat.api_base,
        "app_push_url": fake_push.push_url, "app_push_secret": fake_push.secret}))
    line.callout.settings = settings
    line.callout.notices = WeChatNotices(settings, line.callout.sessions)
    line.callout.push = AppPush(settings)
    return line


def body(channel: str, recipients: list[dict], **extra: object) -> dict:
    return {"name": "偿还商贷提取", "channel": channel, "message": "{name}您好，您可以办理偿还商贷提取。",
            "recipients": recipients, "window": {"start": "09:00", "end": "20:00"}, "max_attempts": 2,
            "calls_per_second": 10, "max_concurrent": 20, **extra}


async def staff(line) -> tuple[dict, dict]:
    return await login(line.callout, "planner", Role.CAMPAIGNER), await login(line.callout, "lead", Role.SUPERVISOR)


async def citizen(line, phone: str, **identities: str) -> str:
    """A citizen known by this number and the given identities (wechat=openid, app=user id)."""
    async with line.callout.sessions() as session:
        person = Citizen()
        session.add(person)
        session.add(Identity(citizen=person, kind="phone", value=phone))
        session.add_all([Identity(citizen=person, kind=kind, value=value) for kind, value in identities.items()])
        await session.commit()
        return person.id


async def recipients(line, campaign_id: int) -> list[Recipient]:
    async with line.callout.sessions() as session:
        return list((await session.scalars(select(Recipient).where(Recipient.campaign_id == campaign_id)
                                           .order_by(Recipient.row))).all())


async def set_citizen(line, campaign_id: int, phone: str, citizen_id: str) -> None:
    """As a campaign prepared from a segment has it: the recipient knows their citizen."""
    async with line.callout.sessions() as session:
        person = await session.scalar(select(Recipient).where(Recipient.campaign_id == campaign_id,
                                                              Recipient.phone == phone))
        person.citizen_id = citizen_id
        await session.commit()


async def stages(line) -> list[tuple[str, str, str]]:
    async with line.callout.sessions() as session:
        rows = (await session.execute(select(FunnelEvent.subject, FunnelEvent.stage, FunnelEvent.channel)
                                      .order_by(FunnelEvent.id))).all()
    return [tuple(row) for row in rows]


async def attempts(line, campaign_id: int) -> list[Attempt]:
    async with line.callout.sessions() as session:
        return list((await session.scalars(select(Attempt).where(Attempt.campaign_id == campaign_id)
                                           .order_by(Attempt.id))).all())


async def test_an_sms_campaign_texts_each_person_once_and_learns_delivery(messages_line):
    line = messages_line
    preparer, approver = await staff(line)
    audience = people(3)
    phones = [f"+86{p['phone']}" for p in audience]
    line.twilio.behaviours[phones[2]] = Behaviour(sms_refuse=21211)  # not a valid number: final
    campaign_id = await line.campaign(body("sms", audience), preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)

    assert line.twilio.calls == []
    sent = sorted(line.twilio.messages, key=lambda m: m["To"])
    assert [m["To"] for m in sent] == phones[:2] and sent[0]["Body"] == "市民0您好，您可以办理偿还商贷提取。"
    assert sent[0]["StatusCallback"].startswith(f"{PUBLIC_BASE}/callout/twilio/sms-status?a=")
    people_now = await recipients(line, campaign_id)
    assert [(p.state, p.outcome) for p in people_now] == [("done", "sent"), ("done", "sent"), ("done", "failed")]
    assert {a.channel for a in await attempts(line, campaign_id)} == {"sms"}
    # Sent counts a contact against the weekly cap; the refused one does not.
    async with line.callout.sessions() as session:
        contacts = (await session.scalars(select(Contact.phone).order_by(Contact.phone))).all()
    assert list(contacts) == phones[:2]

    first = next(m for m in line.twilio.messages if m["To"] == phones[0])
    url, params = line.twilio.message_status(first, "delivered")
    forged = await line.post(url, params, signature="not-twilio")
    assert forged.status_code == 403 and forged.json()["code"] == "bad_signature"
    assert (f"r:{people_now[0].id}", "delivered", "sms") not in await stages(line)
    for _twice in range(2):  # Twilio repeats callbacks: counted once
        assert (await line.post(url, params)).status_code == 204
    second = next(m for m in line.twilio.messages if m["To"] == phones[1])
    url, params = line.twilio.message_status(second, "undelivered", error_code=30003)
    assert (await line.post(url, params)).status_code == 204
    assert sorted(await stages(line)) == sorted([
        (f"r:{people_now[0].id}", "sent", "sms"), (f"r:{people_now[1].id}", "sent", "sms"),
        (f"r:{people_now[0].id}", "delivered", "sms")])
    after = await recipients(line, campaign_id)
    assert [p.outcome for p in after] == ["sent", "failed", "failed"]
    status = await line.status(campaign_id, preparer)
    assert status["counts"]["sent"] == 1 and status["counts"]["failed"] == 2
    shown = (await line.api.get(f"/api/v1/campaigns/{campaign_id}/timeline", headers=preparer)).json()
    assert (shown["settled"], shown["reached"], shown["buckets"][0]["counts"]["sent"]) == (3, 1, 1)


async def test_a_wechat_campaign_reaches_linked_followers_only(messages_line, fake_wechat):
    line = messages_line
    preparer, approver = await staff(line)
    audience = people(3, start=10)
    phones = [f"+86{p['phone']}" for p in audience]
    stamp = int(time.time() * 1000)
    by_number, by_citizen = f"o-num-{stamp}", f"o-cit-{stamp}"
    fake_wechat.last_seen.update({by_number: time.time(), by_citizen: time.time()})
    await citizen(line, phones[0], wechat=by_number)
    known = await citizen(line, f"+8613700{stamp % 100000:05d}", wechat=by_citizen)  # another number
    campaign_id = await line.campaign(
        body("wechat", audience, wechat_template_id=TEMPLATE,
             wechat_data={"first": "{name}您好，公积金政策有更新。", "remark": "详询12329"}),
        preparer=preparer, approver=approver)
    await set_citizen(line, campaign_id, phones[1], known)
    await line.dialer.dispatch(campaign_id)

    sent = {t["touser"]: t for t in fake_wechat.template_sent if t["touser"] in (by_number, by_citizen)}
    assert set(sent) == {by_number, by_citizen}
    assert sent[by_number]["data"]["first"] == {"value": "市民10您好，公积金政策有更新。"}
    assert sent[by_citizen]["template_id"] == TEMPLATE
    assert [p.outcome for p in await recipients(line, campaign_id)] == ["sent", "sent", "unreachable"]
    assert line.twilio.messages == [] and line.twilio.calls == []

    # WeChat's job-finished events (the channel hands them over): delivered, or blocked by the person.
    people_now = await recipients(line, campaign_id)
    await delivery.on_template_finished(line.callout, sent[by_number]["msgid"], "success")
    await delivery.on_template_finished(line.callout, sent[by_citizen]["msgid"], "failed:user block")
    await delivery.on_template_finished(line.callout, 987654321, "success")  # not a campaign's: nothing
    assert (f"r:{people_now[0].id}", "delivered", "wechat") in await stages(line)
    assert [p.outcome for p in await recipients(line, campaign_id)] == ["sent", "failed", "unreachable"]


async def test_a_wechat_campaign_may_text_those_it_cannot_reach(messages_line, fake_wechat):
    """先微信后短信: a person with no linked follower gets the campaign's SMS instead."""
    line = messages_line
    preparer, approver = await staff(line)
    audience = people(1, start=15)
    campaign_id = await line.campaign(
        body("wechat", audience, wechat_template_id=TEMPLATE, wechat_data={"first": "{name}您好"},
             fallback="wechat_then_sms", sms_message="{name}您好，请关注公积金公众号。"),
        preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)
    assert [(m["To"], m["Body"]) for m in line.twilio.messages] == [(f"+86{audience[0]['phone']}", "市民15您好，请关注公积金公众号。")]
    (person,) = await recipients(line, campaign_id)
    assert person.outcome == "sent"
    assert [(a.channel, a.outcome) for a in await attempts(line, campaign_id)] == [("sms", "sent")]
    assert await stages(line) == [(f"r:{person.id}", "sent", "sms")]


async def test_app_push_is_signed_retried_while_the_app_is_down_and_final_on_a_refusal(messages_line, fake_push):
    line = messages_line
    preparer, approver = await staff(line)
    audience = people(3, start=20)
    phones = [f"+86{p['phone']}" for p in audience]
    await citizen(line, phones[0], app="app-user-20")
    await citizen(line, phones[1], app="app-user-21")
    fake_push.unknown_users.add("app-user-21")
    campaign_id = await line.campaign(body("push", audience), preparer=preparer, approver=approver)

    fake_push.fail_with = 503  # the app backend is down: nobody's fault, not counted
    await line.dialer.dispatch(campaign_id)
    waiting = await recipients(line, campaign_id)
    assert waiting[0].state == "retry" and all(p.attempts == 0 for p in waiting if p.state == "retry")
    assert fake_push.pushes == [] and fake_push.forged == 0

    fake_push.fail_with = None
    for _round in range(2):  # the backend's 503 paused the pace: the rest follow
        line.clock.advance(minutes=2)
        await line.dialer.dispatch(campaign_id)
    (pushed,) = fake_push.pushes
    assert {key: pushed[key] for key in ("user_id", "title", "body", "url")} == {
        "user_id": "app-user-20", "title": "偿还商贷提取", "body": "市民20您好，您可以办理偿还商贷提取。", "url": None}
    people_now = await recipients(line, campaign_id)
    assert [p.outcome for p in people_now] == ["sent", "failed", "unreachable"]
    refused = [a for a in await attempts(line, campaign_id) if a.error_code == 404]
    assert len(refused) == 1 and refused[0].counted

    # The app showed it: the backend's signed receipt is the funnel's delivered stage, once.
    content, headers = fake_push.receipt(pushed)
    forged = await line.api.post("/callout/app-push/receipts", content=content.replace(b"delivered", b"delivered "),
                                 headers=headers)
    assert forged.status_code == 403 and forged.json()["code"] == "bad_signature"
    for _twice in range(2):
        assert (await line.api.post("/callout/app-push/receipts", content=content, headers=headers)).status_code == 204
    assert await stages(line) == [(f"r:{people_now[0].id}", "sent", "push"), (f"r:{people_now[0].id}", "delivered", "push")]
    made_up, headers = fake_push.receipt({"push_id": "12345.not-ours"})
    unknown = await line.api.post("/callout/app-push/receipts", content=made_up, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_push"


async def test_a_card_campaign_puts_one_card_on_the_citizens_pages(messages_line):
    line = messages_line
    preparer, approver = await staff(line)
    audience = people(2, start=30)
    phones = [f"+86{p['phone']}" for p in audience]
    someone = await citizen(line, phones[0])
    campaign_id = await line.campaign(body("card", audience), preparer=preparer, approver=approver)
    await set_citizen(line, campaign_id, phones[0], someone)
    await line.dialer.dispatch(campaign_id)

    async with line.callout.sessions() as session:
        cards = (await session.scalars(select(Card))).all()
    assert [(c.citizen_id, c.title, c.text) for c in cards] == [(someone, "偿还商贷提取", "市民30您好，您可以办理偿还商贷提取。")]
    assert cards[0].expires_at > line.clock.now() + timedelta(days=13)
    people_now = await recipients(line, campaign_id)
    assert [p.outcome for p in people_now] == ["sent", "unreachable"]
    assert cards[0].recipient_id == people_now[0].id
    assert await stages(line) == [(f"r:{people_now[0].id}", "sent", "card")]


async def test_the_weekly_cap_holds_the_third_message_until_the_first_leaves_the_week(messages_line):
    line = messages_line
    preparer, approver = await staff(line)
    person = people(1, start=40)
    phone = f"+86{person[0]['phone']}"
    first_at = line.clock.now()
    for _campaign in range(2):
        campaign_id = await line.campaign(body("sms", person), preparer=preparer, approver=approver)
        await line.dialer.dispatch(campaign_id)
        line.clock.advance(hours=1)
    assert len(line.twilio.messages) == 2

    held = await line.campaign(body("sms", person), preparer=preparer, approver=approver)
    ending = await line.campaign(body("sms", person, ends_on="2026-12-08"), preparer=preparer, approver=approver)
    for campaign_id in (held, ending):
        await line.dialer.dispatch(campaign_id)
    assert len(line.twilio.messages) == 2  # the third and fourth in a week wait
    for campaign_id in (held, ending):
        (waiting,) = await recipients(line, campaign_id)
        assert (waiting.state, waiting.outcome, waiting.attempts) == ("retry", "capped", 0)
        assert waiting.next_attempt_at == first_at + timedelta(days=7)

    line.clock.advance(days=2)  # the fourth campaign's last day passes first
    await line.dialer.dispatch(ending)
    assert [(p.state, p.outcome) for p in await recipients(line, ending)] == [("done", "capped")]

    line.clock.at = first_at + timedelta(days=7)  # the first message leaves the week
    await line.dialer.dispatch(held)
    assert [m["To"] for m in line.twilio.messages] == [phone] * 3
    assert [(p.state, p.outcome) for p in await recipients(line, held)] == [("done", "sent")]


async def test_a_retry_of_the_same_campaign_is_not_a_new_contact(messages_line):
    line = messages_line
    preparer, approver = await staff(line)
    person = people(1, start=45)
    phone = f"+86{person[0]['phone']}"
    line.twilio.behaviours[phone] = Behaviour("no-answer")
    campaign_id = await line.campaign(body("voice", person, max_attempts=3, retry_minutes=1),
                                      preparer=preparer, approver=approver)
    for _round in range(3):
        await line.dialer.dispatch(campaign_id)
        await line.play_new()
        line.clock.advance(minutes=2)
    assert len(line.twilio.call_to(phone)) == 3
    async with line.callout.sessions() as session:
        assert len((await session.scalars(select(Contact).where(Contact.phone == phone))).all()) == 1


async def test_no_message_in_the_quiet_hours_whatever_the_window(messages_line):
    line = messages_line
    preparer, approver = await staff(line)
    line.clock.at = local(2026, 12, 7, 21, 30)
    campaign_id = await line.campaign(body("sms", people(1, start=50), window={"start": "07:00", "end": "23:00"}),
                                      preparer=preparer, approver=approver)
    again = await line.dialer.dispatch(campaign_id)
    assert line.twilio.messages == [] and again == local(2026, 12, 8, 8, 0)
    line.clock.at = again
    await line.dialer.dispatch(campaign_id)
    assert len(line.twilio.messages) == 1


def test_quiet_hours_cut_the_windows():
    quiet = parse_quiet("21:00-08:00")
    windows = (parse_window("07:00", "09:00"), parse_window("12:00", "13:00"), parse_window("20:00", "23:30"))
    assert without_quiet(windows, quiet) == (
        parse_window("08:00", "09:00"), parse_window("12:00", "13:00"), parse_window("20:00", "21:00"))
    assert without_quiet(windows, parse_quiet("")) == windows
    assert without_quiet((parse_window("22:00", "23:00"),), quiet) == ()
    assert without_quiet(windows, parse_quiet("12:15-12:45")) == (
        windows[0], parse_window("12:00", "12:15"), Window(parse_window("12:45", "13:00").start,
                                                           parse_window("12:45", "13:00").end), windows[2])
    with pytest.raises(ValueError, match="OUTREACH_QUIET_HOURS"):
        Settings(outreach_quiet_hours="9pm-8am")


async def test_no_message_to_a_listed_number_on_any_channel(messages_line, fake_push):
    line = messages_line
    preparer, approver = await staff(line)
    audience = people(3, start=60)
    phones = [f"+86{p['phone']}" for p in audience]
    for phone, user in zip(phones, ("app-60", "app-61", "app-62"), strict=True):
        await citizen(line, phone, app=user)
    pushed = await line.campaign(body("push", audience), preparer=preparer, approver=approver)
    texted = await line.campaign(body("sms", audience), preparer=preparer, approver=approver)
    await suppressions.add(line.callout.sessions, phones[0], source="staff")
    async with line.callout.sessions() as session:  # listed behind the engine's back: the claim still checks
        await session.execute(insert(Suppression).values(phone=phones[1], source="staff", evidence={}))
        await session.commit()
    for campaign_id in (pushed, texted):
        await line.dialer.dispatch(campaign_id)
    assert [p["user_id"] for p in fake_push.pushes] == ["app-62"]
    assert [m["To"] for m in line.twilio.messages] == [phones[2]]
    for campaign_id in (pushed, texted):
        assert [p.outcome for p in await recipients(line, campaign_id)] == ["suppressed", None, "sent"]


async def test_message_channels_are_checked_when_made_and_started(api, callout):
    preparer = await login(callout, "planner", Role.CAMPAIGNER)
    approver = await login(callout, "lead", Role.SUPERVISOR)
    missing = await api.post("/api/v1/campaigns", json=body("wechat", people(1)), headers=preparer)
    assert missing.status_code == 422 and missing.json()["code"] == "wechat_template_missing"
    unknown = await api.post("/api/v1/campaigns", json=body("fax", people(1)), headers=preparer)
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_request"
    made = await api.post("/api/v1/campaigns", json=body("push", people(1)), headers=preparer)
    assert made.status_code == 201 and (await api.get(f"/api/v1/campaigns/{made.json()['id']}",
                                                      headers=preparer)).json()["channel"] == "push"
    campaign_id = made.json()["id"]
    assert (await api.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=approver)).status_code == 200
    refused = await api.post(f"/api/v1/campaigns/{campaign_id}/start", headers=preparer)
    assert refused.status_code == 503 and refused.json()["missing"] == ["APP_PUSH_URL", "APP_PUSH_SECRET"]
    card = await api.post("/api/v1/campaigns", json=body("card", people(1), ends_on=str(date(2026, 12, 31))),
                          headers=preparer)
    card_id = card.json()["id"]
    assert (await api.post(f"/api/v1/campaigns/{card_id}/approve", headers=approver)).status_code == 200
    assert (await api.post(f"/api/v1/campaigns/{card_id}/start", headers=preparer)).status_code == 200


async def test_the_outcomes_of_messages_are_known_outcomes():
    assert {Outcome.SENT, Outcome.UNREACHABLE, Outcome.CAPPED} <= set(Outcome)


async def test_campaigns_claiming_one_person_at_once_never_pass_the_cap_together(messages_line):
    """Four campaigns claim the same number at the same instant: the count under the lock lets two through."""
    line = messages_line
    preparer, approver = await staff(line)
    person = people(1, start=70)
    made = [await line.campaign(body("sms", person), preparer=preparer, approver=approver) for _ in range(4)]
    async with line.callout.sessions() as session:
        campaigns = [await session.get(Campaign, campaign_id) for campaign_id in made]
    results = await asyncio.gather(*(Dialer(line.callout)._claim(campaign, line.clock.now()) for campaign in campaigns))
    assert sum(isinstance(result, Claim) for result in results) == 2
    async with line.callout.sessions() as session:
        assert len((await session.scalars(select(Contact))).all()) == 2
        held = (await session.scalars(select(Recipient).where(Recipient.outcome == "capped"))).all()
    assert len(held) == 2 and all(p.state == "retry" and p.attempts == 0 for p in held)


async def test_a_number_listed_between_the_claim_and_the_send_gets_nothing(messages_line):
    line = messages_line
    preparer, approver = await staff(line)
    person = people(1, start=80)
    campaign_id = await line.campaign(body("sms", person), preparer=preparer, approver=approver)
    async with line.callout.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
    claim = await line.dialer._claim(campaign, line.clock.now())
    assert isinstance(claim, Claim)
    await suppressions.add(line.callout.sessions, claim.phone, source="sms")  # 退订 arrives just now
    await line.dialer._place(campaign, claim)
    assert line.twilio.messages == []
    assert [(p.state, p.outcome) for p in await recipients(line, campaign_id)] == [("done", "suppressed")]
    async with line.callout.sessions() as session:
        assert (await session.scalars(select(Contact))).all() == []
