"""The WeChat template fall-back after the last unanswered call, against the local fake WeChat: a
follower linked to the number gets the template with the person's data; a number with no WeChat, or a
follower who left, gets the SMS (wechat_then_sms); the settings are checked when the campaign is made."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from callout.models import Attempt, Recipient
from callout.notices import WeChatNotices
from conversations.models import Citizen, Identity
from core.settings import Settings
from fakes.twilio import Behaviour
from fakes.wechat import FakeWeChat
from staff.models import Role
from tests.callout.helpers import login, people

TEMPLATE = "TPL_REPAYMENT"
DATA = {"first": "{name}您好，您的公积金贷款本月应还{amount}元尚未扣款。", "keyword1": "{amount}元", "remark": "详询12329"}


@pytest.fixture(scope="module")
def fake_wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat(token="callout-token", appid="wx-callout", secret="callout-secret") as fake:
        yield fake


@pytest.fixture
def wechat_line(line, fake_wechat):
    fake_wechat.template_sent.clear()
    settings = Settings(**(line.callout.settings.model_dump() | {
        "wechat_appid": fake_wechat.appid, "wechat_secret": fake_wechat.secret, "wechat_api_base": fake_wechat.api_base}))
    line.callout.notices = WeChatNotices(settings, line.callout.sessions)
    return line


def body(recipients: list[dict], **extra: object) -> dict:
    return {"name": "还款提醒", "channel": "voice", "message": "{name}您好，您本月应还{amount}元。",
            "recipients": recipients, "window": {"start": "09:00", "end": "20:00"}, "max_attempts": 1,
            "max_concurrent": 50, "calls_per_second": 10, "fallback": "wechat_then_sms",
            "wechat_template_id": TEMPLATE, "wechat_data": DATA, "sms_message": "{name}您好，请存入{amount}元。", **extra}


async def link(line, phone: str, openid: str) -> None:
    """One citizen known by a phone number and a WeChat openid, as the channels record them."""
    async with line.callout.sessions() as session:
        citizen = Citizen()
        session.add(citizen)
        session.add_all([Identity(citizen=citizen, kind="phone", value=phone),
                         Identity(citizen=citizen, kind="wechat", value=openid)])
        await session.commit()


async def run(line, campaign_id: int) -> None:
    for _round in range(2):
        await line.dialer.dispatch(campaign_id)
        await line.play_new()
        await line.run_queue()


async def test_a_linked_follower_gets_the_template_and_the_others_the_sms(wechat_line, fake_wechat):
    line = wechat_line
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    audience = people(4, amount="3,215.60")
    phone = [f"+86{p['phone']}" for p in audience]
    stamp = int(time.time() * 1000)
    follower, gone = f"o-follows-{stamp}", f"o-left-{stamp}"
    fake_wechat.last_seen.update({follower: time.time(), gone: time.time()})
    fake_wechat.unfollowed.add(gone)
    await link(line, phone[0], follower)
    await link(line, phone[2], gone)
    line.twilio.behaviours.update({phone[0]: Behaviour("busy"), phone[1]: Behaviour("no-answer"),
                                   phone[2]: Behaviour("busy")})
    campaign_id = await line.campaign(body(audience), preparer=preparer, approver=approver)
    await run(line, campaign_id)

    sent = [t for t in fake_wechat.template_sent if t["touser"] in (follower, gone)]
    assert len(sent) == 1 and sent[0]["touser"] == follower and sent[0]["template_id"] == TEMPLATE
    assert sent[0]["data"]["first"] == {"value": "市民0您好，您的公积金贷款本月应还3,215.60元尚未扣款。"}
    assert sent[0]["data"]["keyword1"] == {"value": "3,215.60元"} and sent[0]["data"]["remark"] == {"value": "详询12329"}
    # No WeChat linked (phone 1) and a follower who left (phone 2): the SMS; the answered one: nothing.
    assert sorted(m["To"] for m in line.twilio.messages) == [phone[1], phone[2]]
    counts = (await line.status(campaign_id, preparer))["counts"]
    assert (counts["wechat_sent"], counts["sms_sent"], counts["answered"]) == (1, 2, 1)
    async with line.callout.sessions() as session:
        left = await session.scalar(select(Recipient).where(Recipient.phone == phone[2]))
        tries = (await session.scalars(select(Attempt).where(Attempt.recipient_id == left.id)
                                       .order_by(Attempt.seq))).all()
    assert [(t.channel, t.outcome, t.error_code) for t in tries] == [
        ("voice", "busy", None), ("wechat", "failed", 43004), ("sms", "answered", None)]
    assert left.fallback == "sms_sent"


async def test_wechat_alone_sends_nothing_else(wechat_line, fake_wechat):
    line = wechat_line
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    audience = people(1, start=20, amount="100")
    line.twilio.behaviours[f"+86{audience[0]['phone']}"] = Behaviour("busy")
    campaign_id = await line.campaign(body(audience, fallback="wechat", sms_message=None),
                                      preparer=preparer, approver=approver)
    await run(line, campaign_id)
    assert line.twilio.messages == []
    counts = (await line.status(campaign_id, preparer))["counts"]
    assert (counts["busy"], counts["wechat_failed"], counts["sms_sent"]) == (1, 1, 0)


@pytest.mark.parametrize(("extra", "code"), [
    ({"wechat_data": {"first": "{name}您好，{overdue_days}天"}}, "unknown_variable"),
    ({"wechat_template_id": None}, "wechat_template_missing"),
    ({"wechat_data": {}}, "wechat_template_missing"),
    ({"wechat_data": {"第一": "{name}"}}, "wechat_field_invalid"),
    ({"sms_message": None}, "sms_message_missing"),
    ({"fallback": "fax"}, "invalid_request"),
])
async def test_the_wechat_settings_are_checked_at_creation(api, callout, extra, code):
    preparer = await login(callout, "planner", Role.CAMPAIGNER)
    made = await api.post("/api/v1/campaigns", json=body(people(2, amount="1"), **extra), headers=preparer)
    assert made.status_code == 422 and made.json()["code"] == code, made.text


async def test_the_campaign_shows_its_fall_back(api, callout):
    preparer = await login(callout, "planner", Role.CAMPAIGNER)
    made = await api.post("/api/v1/campaigns", json=body(people(2, amount="1")), headers=preparer)
    shown = (await api.get(f"/api/v1/campaigns/{made.json()['id']}", headers=preparer)).json()
    assert (shown["fallback"], shown["wechat_template_id"], shown["wechat_data"]) == ("wechat_then_sms", TEMPLATE, DATA)
    assert shown["counts"]["wechat_sent"] == 0
