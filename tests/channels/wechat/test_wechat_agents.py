"""Agents on WeChat: after a handoff the bot is silent, the citizen's messages wait for the agent and
the agent's replies go out through the customer-service API; beyond 48 hours (45015) the agent is told
in the conversation, with the other channels on file; back in bot mode the assistant answers again."""
from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from channels.wechat.models import WeChatDelivery
from conversations.events import DeliveryFailed
from conversations.hub import Hub, conversation_topic
from conversations.lifecycle import transition
from conversations.models import Author, ConversationStatus, Identity
from conversations.replies import Reply
from core.bus import EventBus
from core.services import services_of
from fakes import wechat as wx


def conversation_id(service, openid: str) -> str:
    async def open_():
        hub = services_of(service.app).get(Hub)
        return (await hub.open_conversation(channel="wechat", kind="wechat", value=openid)).id

    return service.run(open_())


def move(service, cid: str, *targets: ConversationStatus) -> None:
    async def go():
        async with services_of(service.app).get(async_sessionmaker)() as session:
            for target in targets:
                await transition(session, cid, target)
            await session.commit()

    service.run(go())


def send_as(service, cid: str, author: Author, reply: Reply) -> None:
    service.run(services_of(service.app).get(Hub).send(cid, "wechat", author, reply, push=True))


def test_handoff_to_an_agent_and_back(service, wechat, rasa, openid):
    assert wechat.post(service.wechat_url, wx.text(openid, "我要投诉")).shown.content == "收到：我要投诉"
    cid = conversation_id(service, openid)
    move(service, cid, ConversationStatus.WAITING)
    send_as(service, cid, Author.SYSTEM, Reply("已为您转接人工客服，您前面还有2位。"))
    assert wechat.wait_for(openid, 2)[-1].content == "已为您转接人工客服，您前面还有2位。"

    asked = len(rasa.received)
    assert wechat.post(service.wechat_url, wx.text(openid, "还要等多久")).shown is None, "the bot stays silent"
    move(service, cid, ConversationStatus.HUMAN)
    assert wechat.post(service.wechat_url, wx.image(openid)).shown is None, "an image goes to the agent, unanswered"
    assert len(rasa.received) == asked

    send_as(service, cid, Author.AGENT, Reply("您好，我是客服小王，请讲。", links=[{"title": "投诉指南", "url": "/wechat/articles/service-complaints"}]))
    agent_line = wechat.wait_for(openid, 3)[-1]
    assert agent_line.via == "custom" and agent_line.content.startswith("您好，我是客服小王，请讲。\n<a href=")
    history = service.run(services_of(service.app).get(Hub).history(cid))
    assert [m.text for m in history if m.author == Author.CITIZEN][-2:] == ["还要等多久", "[图片]"]

    move(service, cid, ConversationStatus.BOT)
    rating = [{"title": f"{n}分", "payload": str(n)} for n in (5, 4, 3, 2, 1)]
    send_as(service, cid, Author.SYSTEM, Reply("请为刚才的人工服务打分：回复数字1–5（5分为非常满意）。", buttons=rating))
    assert wechat.wait_for(openid, 4)[-1].content.endswith("5. 5分\n4. 4分\n3. 3分\n2. 2分\n1. 1分")
    wechat.post(service.wechat_url, wx.text(openid, "5"))
    assert service.run(services_of(service.app).get(Hub).history(cid))[-2].text == "5", "a rating of 5 stays 5"
    assert wechat.post(service.wechat_url, wx.text(openid, "谢谢")).shown.content == "收到：谢谢"
    assert len(wechat.shown(openid)) == 6, "nothing was sent twice"


def test_beyond_48_hours_the_agent_is_told_and_offered_other_channels(service, wechat, openid):
    wechat.post(service.wechat_url, wx.text(openid, "我的提取申请怎么还没到账"))
    cid = conversation_id(service, openid)
    move(service, cid, ConversationStatus.WAITING, ConversationStatus.HUMAN)

    async def add_phone_and_web():
        async with services_of(service.app).get(async_sessionmaker)() as session:
            citizen = (await services_of(service.app).get(Hub).open_conversation(
                channel="wechat", kind="wechat", value=openid)).citizen_id
            session.add_all([Identity(citizen_id=citizen, kind="phone", value="13812345678"),
                             Identity(citizen_id=citizen, kind="web", value=f"visitor-{openid}")])
            await session.commit()

    service.run(add_phone_and_web())
    wechat.age(openid, hours=49)

    async def agent_replies_and_console_listens():
        bus, hub = services_of(service.app).get(EventBus), services_of(service.app).get(Hub)
        async with bus.subscribe(conversation_topic(cid)) as events:
            sent = await hub.send(cid, "wechat", Author.AGENT, Reply("已经帮您查到了，明天到账。"), push=True)
            async for event in events:
                if isinstance(event, DeliveryFailed):
                    return sent, event

    sent, event = service.run(asyncio.wait_for(agent_replies_and_console_listens(), 10))
    assert event.errcode == 45015 and event.message_id == sent.id
    assert [o["kind"] for o in event.reachable] == ["phone", "web"]

    notice = service.run(services_of(service.app).get(Hub).history(cid))[-1]
    assert notice.author == Author.SYSTEM and notice.payload["audience"] == "agent"
    assert "48小时" in notice.text and "电话 138****5678" in notice.text and "网页" in notice.text
    assert "13812345678" not in notice.text
    assert len(wechat.shown(openid)) == 1, "only the first, passive, answer reached the citizen"

    async def deliveries():
        async with services_of(service.app).get(async_sessionmaker)() as session:
            return (await session.scalars(select(WeChatDelivery).where(WeChatDelivery.message_id == sent.id))).all()

    (record,) = service.run(deliveries())
    assert (record.status, record.errcode) == ("failed", 45015)
