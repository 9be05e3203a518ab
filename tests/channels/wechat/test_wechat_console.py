"""The agent pool on WeChat, end to end with the console's own services (agent_console): a citizen is
queued, the bot falls silent, an agent takes the conversation and answers through the
customer-service API, hands it back, and the citizen rates the service by replying with a digit."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from agent_console import claims, conversations, duty
from agent_console.context import Console
from agent_console.handoff import request_handoff
from agent_console.models import Handoff
from core.services import services_of
from fakes import wechat as wx
from staff import accounts
from staff.audit import SYSTEM
from staff.auth import Me
from staff.models import Role


def test_queue_agent_and_rating_on_wechat(service, wechat, rasa, openid):
    console = services_of(service.app).get(Console)

    async def agent_on_duty() -> Me:
        made = await accounts.create(console, username=f"wx-{uuid.uuid4().hex[:8]}", password="secret-pass-1",
                                     role=Role.AGENT, capacity=3, display_name="客服小王", actor=SYSTEM)
        me = Me(id=made.id, username=made.username, display_name=made.display_name, role=made.role,
                capacity=made.capacity, skills=tuple(made.skills or ()), phone=None, session_id="wechat-test", ip=None)
        await duty.apply(console, me, 60)
        return me

    async def conversation_id() -> str:
        return (await console.hub.open_conversation(channel="wechat", kind="wechat", value=openid)).id

    async def rating_of(cid: str) -> int | None:
        async with console.sessions() as session:
            return await session.scalar(select(Handoff.rating).where(Handoff.conversation_id == cid))

    wechat.post(service.wechat_url, wx.text(openid, "我要转人工"))
    me, cid = service.run(agent_on_duty()), service.run(conversation_id())
    outcome = service.run(
        request_handoff(console, conversation_id=cid, reason="citizen_request", intent="ask_human", slots={})
    )
    assert outcome.outcome == "queued"
    asked = len(rasa.received)
    assert wechat.post(service.wechat_url, wx.text(openid, "要等多久")).shown is None, "queued: the bot is silent"

    service.run(claims.claim(console, me, cid))
    service.run(conversations.send(console, me, cid, "您好，我是客服小王，请问要办理什么业务？", []))
    lines = [s.content for s in wechat.wait_for(openid, 3)]
    assert lines[-1] == "您好，我是客服小王，请问要办理什么业务？" and all(s.via != "error" for s in wechat.shown(openid))
    assert len(rasa.received) == asked

    service.run(conversations.finish(console, me, cid))
    request = wechat.wait_for(openid, len(lines) + 1)[-1]
    assert request.via == "custom" and "回复数字 5–1" in request.content
    assert request.content.endswith("5. 非常满意\n4. 满意\n3. 基本满意\n2. 不满意\n1. 非常不满意"), "5 means 非常满意"
    thanks = wechat.post(service.wechat_url, wx.text(openid, "5")).shown
    assert thanks.content == "感谢您的评价（非常满意）！还有其他问题可以继续问我。"
    assert service.run(rating_of(cid)) == 5, "the digit 5 is a rating of 5"
    assert wechat.post(service.wechat_url, wx.text(openid, "谢谢")).shown.content == "收到：谢谢", "the bot is back"
