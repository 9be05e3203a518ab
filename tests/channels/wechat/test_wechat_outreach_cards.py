"""The WeChat menu's 我的待办: a follower goes through the web authorisation to /me and reads the cards
the centre put on their pages, as the same citizen the openid is."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from conversations.hub import Hub
from conversations.models import Channel
from core.db import utcnow
from core.services import services_of
from outreach import cards


def test_menu_landing_page_lists_the_followers_cards(service, wechat, openid):
    async def post() -> int:
        hub = services_of(service.app).get(Hub)
        citizen_id = (await hub.open_conversation(channel=Channel.WECHAT, kind="wechat", value=openid)).citizen_id
        async with services_of(service.app).get(async_sessionmaker)() as session:
            card = await cards.post_card(session, citizen_id=citizen_id, business="withdraw-repay-commercial-loan",
                                         title="偿还商贷提取", text="您可以按月提取公积金偿还商业贷款。", link_id=None,
                                         campaign_id=None, recipient_id=None, expires_at=utcnow() + timedelta(days=3))
            await session.commit()
        assert card is not None
        return card.id

    card_id = service.run(post())
    wechat.browser_openid = openid
    browser = httpx.Client(follow_redirects=False, timeout=10)
    to_wechat = browser.get(f"{service.url}/wechat/oauth", params={"next": "/me"})
    back = browser.get(browser.get(to_wechat.headers["location"]).headers["location"])
    assert back.status_code == 200
    handover = json.loads(re.search(r"const v = (\{.*?\});", back.text).group(1))
    assert handover["next"] == "/me"

    page = httpx.get(f"{service.url}/me")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    listed = httpx.get(f"{service.url}/api/v1/web/cards", headers={"Authorization": f"Bearer {handover['token']}"})
    assert listed.status_code == 200
    assert [(c["id"], c["title"]) for c in listed.json()["cards"]] == [(card_id, "偿还商贷提取")]
