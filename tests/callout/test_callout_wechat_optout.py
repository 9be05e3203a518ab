"""退订 by WeChat, through the real hub: a follower linked to a mobile number is put on the suppression
list and told so, and a later campaign never calls that number; a follower with no linked number is
told how to unsubscribe; a question that mentions the word goes to the bot."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from callout.models import Recipient, Suppression
from callout.suppressions import is_opt_out
from callout.wechat_optout import WeChatOptOut
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from conversations.models import Author, Channel, Citizen, Identity
from core.bus import LocalBus
from staff.models import Role
from tests.callout.helpers import login, people
from tests.messages import said


@pytest.fixture
async def hub(line, rasa):
    """The hub with the interceptor callout's start registers."""
    rasa.received.clear()
    bot = RasaClient(rasa.url, timeout_s=2.0)
    hub = Hub(line.callout.sessions, LocalBus(), bot, None, "12329", bot_deadline_s=2.0)
    hub.register_interceptor(WeChatOptOut(line.callout.settings, line.callout.sessions))
    yield hub
    await bot.close()


async def follower(line, openid: str, *phones: str) -> None:
    """A citizen known by a WeChat openid and any phone numbers, as the channels record them."""
    async with line.callout.sessions() as session:
        citizen = Citizen()
        session.add(citizen)
        session.add(Identity(citizen=citizen, kind="wechat", value=openid))
        session.add_all(Identity(citizen=citizen, kind="phone", value=phone) for phone in phones)
        await session.commit()


async def send(hub: Hub, openid: str, text: str):
    conversation = await hub.open_conversation(channel=Channel.WECHAT, kind="wechat", value=openid)
    return await hub.receive(conversation, said(conversation, text))


def test_only_the_bare_word_unsubscribes() -> None:
    assert all(is_opt_out(text) for text in ("退订", " 退订。", "TD", "ＴＤ", "不再接收！"))
    assert not any(is_opt_out(text) for text in ("退订是什么意思", "怎么退订", "", "TDS", "我要退订公积金"))


async def test_a_linked_follower_is_suppressed_and_never_called(line, hub, rasa):
    await follower(line, "o-linked", "+8613900000001")
    turn = await send(hub, "o-linked", " 退订 ")
    assert [sent.message.author for sent in turn.sent] == [Author.SYSTEM]
    assert "您已退订" in turn.replies[0].text and "139****0001" in turn.replies[0].text
    assert rasa.received == []  # the bot was not asked
    async with line.callout.sessions() as session:
        entry = await session.scalar(select(Suppression))
    assert (entry.phone, entry.source) == ("+8613900000001", "wechat")
    assert entry.evidence["channel"] == "wechat" and entry.evidence["said"] == " 退订 "
    assert entry.evidence["conversation_id"] == turn.conversation_id
    again = await send(hub, "o-linked", "退订")  # said twice: one entry, confirmed again
    assert "您已退订" in again.replies[0].text

    preparer, approver = await login(line.callout, "planner", Role.CAMPAIGNER), await login(
        line.callout, "lead", Role.SUPERVISOR)
    body = {"name": "还款提醒", "channel": "voice", "message": "{name}您好，请留意本月还款。",
            "recipients": people(3), "window": {"start": "09:00", "end": "20:00"}, "max_attempts": 1}
    campaign_id = await line.campaign(body, preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)
    assert sorted(call.to for call in line.twilio.calls) == ["+8613900000000", "+8613900000002"]
    async with line.callout.sessions() as session:
        listed = await session.scalar(select(Recipient).where(Recipient.phone == "+8613900000001"))
        assert len((await session.scalars(select(Suppression))).all()) == 1
    assert (listed.state, listed.outcome, listed.attempts) == ("done", "suppressed", 0)


async def test_a_follower_without_a_number_is_told_how(line, hub, rasa):
    await follower(line, "o-alone")
    turn = await send(hub, "o-alone", "退订")
    text = turn.replies[0].text
    assert "尚未关联手机号" in text and "12329" in text and "+861088880000" in text
    assert rasa.received == []
    async with line.callout.sessions() as session:
        assert (await session.scalars(select(Suppression))).all() == []


async def test_a_question_about_the_word_goes_to_the_bot(line, hub, rasa):
    await follower(line, "o-asks", "+8613900000005")
    turn = await send(hub, "o-asks", "退订是什么意思")
    assert [sent.message.author for sent in turn.sent] == [Author.BOT]
    assert turn.replies[0].text == "收到：退订是什么意思"
    async with line.callout.sessions() as session:
        assert (await session.scalars(select(Suppression))).all() == []
