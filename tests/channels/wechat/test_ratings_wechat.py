"""好差评 on WeChat through the fake WeChat: after the bot answered, the citizen's thanks brings the rating
request as numbered choices where "5" means 非常满意; a numbered reply records the level, then (after a bad
one) a numbered reason and a typed comment complete the same rating."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from conversations.hub import Hub
from core.services import services_of
from fakes import wechat as wx
from ratings.models import Rating


def test_a_numbered_reply_rates_the_bot_then_a_reason_and_a_comment(service, wechat, rasa, openid):
    hub = services_of(service.app).get(Hub)
    answered = wechat.post(service.wechat_url, wx.text(openid, "公积金怎么提取")).shown
    assert answered.content == "收到：公积金怎么提取"
    conversation = service.run(hub.open_conversation(channel="wechat", kind="wechat", value=openid))
    rasa.trackers[conversation.id] = {"active_loop": {}, "latest_message": {"intent": {"name": "withdraw-rent"}}}

    request = wechat.post(service.wechat_url, wx.text(openid, "谢谢")).shown.content
    assert "回复数字 5–1" in request
    assert request.endswith("5. 非常满意\n4. 满意\n3. 基本满意\n2. 不满意\n1. 非常不满意")
    reasons = wechat.post(service.wechat_url, wx.text(openid, "2")).shown.content
    assert "请选择主要原因" in reasons and reasons.endswith("6. 其他\n7. 跳过")
    prompt = wechat.post(service.wechat_url, wx.text(openid, "２")).shown.content  # a full-width digit
    assert "一句话" in prompt and prompt.endswith("1. 跳过")
    noted = wechat.post(service.wechat_url, wx.text(openid, "<a href='x'>说了半天没说清楚</a>")).shown.content
    assert noted.startswith("已记录您的意见")

    async def ratings_of(cid: str) -> list[tuple]:
        async with services_of(service.app).get(async_sessionmaker)() as session:
            rows = await session.scalars(select(Rating).where(Rating.conversation_id == cid))
            return [(r.level, r.reasons, r.comment, r.kind, r.channel, r.department) for r in rows]

    assert service.run(ratings_of(conversation.id)) == [
        (2, ["答非所问"], "<a href='x'>说了半天没说清楚</a>", "bot", "wechat", "提取科")]
