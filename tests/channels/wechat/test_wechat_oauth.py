"""Web authorisation (snsapi_base): a citizen opening the chat page from the WeChat menu continues on
the web as the same citizen, so one history; forged or replayed returns are refused."""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from conversations.hub import Hub
from conversations.models import Channel, Conversation
from core.services import services_of
from fakes import wechat as wx


def handover(page: str) -> dict:
    return json.loads(re.search(r"const v = (\{.*?\});", page).group(1))


def sign_in(service, wechat, openid: str, next_path: str = "/") -> tuple[httpx.Client, httpx.Response]:
    """Menu → our redirect → WeChat's authorise page → our callback, in one browser (cookies kept)."""
    wechat.browser_openid = openid
    browser = httpx.Client(follow_redirects=False, timeout=10)
    to_wechat = browser.get(f"{service.url}/wechat/oauth", params={"next": next_path})
    assert to_wechat.status_code == 302
    back = browser.get(to_wechat.headers["location"])
    assert back.status_code == 302
    return browser, browser.get(back.headers["location"])


def test_authorise_address_is_wechats_with_our_callback(service, wechat):
    response = httpx.get(f"{service.url}/wechat/oauth", params={"next": "/"})
    location = urlsplit(response.headers["location"])
    query = parse_qs(location.query)
    assert location.path == "/connect/oauth2/authorize" and location.fragment == "wechat_redirect"
    assert query["appid"] == [wechat.appid] and query["scope"] == ["snsapi_base"]
    assert query["redirect_uri"] == [f"{service.url}/wechat/oauth/callback?next=/"]
    assert query["state"][0] and "hpf_wechat_state" in response.headers["set-cookie"]


def test_citizen_from_wechat_continues_on_the_web_as_the_same_citizen(service, wechat, openid):
    wechat.post(service.wechat_url, wx.text(openid, "你好"))
    _, page = sign_in(service, wechat, openid, next_path="/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    values = handover(page.text)
    assert values["key"] == "hpf.visitor" and values["next"] == "/"
    web = httpx.post(f"{service.url}/api/v1/web/session", json={"visitor_token": values["token"]}).json()

    async def citizens():
        hub = services_of(service.app).get(Hub)
        wechat_side = await hub.open_conversation(channel=Channel.WECHAT, kind="wechat", value=openid)
        async with services_of(service.app).get(async_sessionmaker)() as session:
            web_side = await session.get(Conversation, web["conversation_id"])
        return wechat_side.citizen_id, web_side.citizen_id, web_side.channel

    wechat_citizen, web_citizen, channel = service.run(citizens())
    assert wechat_citizen == web_citizen and channel == "web"
    _, again = sign_in(service, wechat, openid)
    assert handover(again.text)["token"] == values["token"], "the same visitor every time"


def test_forged_or_replayed_returns_are_refused(service, wechat, openid):
    browser, page = sign_in(service, wechat, openid)
    assert page.status_code == 200
    callback = page.request.url
    replay = browser.get(callback)  # the state cookie is gone after use
    assert (replay.status_code, replay.json()["code"]) == (403, "bad_oauth_state")
    stranger = httpx.get(callback)  # another browser, no cookie: someone planting their code
    assert stranger.status_code == 403

    browser, _ = sign_in(service, wechat, openid)
    to_wechat = browser.get(f"{service.url}/wechat/oauth")
    code_used = browser.get(browser.get(to_wechat.headers["location"]).headers["location"])
    assert code_used.status_code == 200
    fresh = browser.get(f"{service.url}/wechat/oauth")
    state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
    used_code = parse_qs(urlsplit(str(code_used.request.url)).query)["code"][0]
    reused = browser.get(f"{service.url}/wechat/oauth/callback", params={"code": used_code, "state": state})
    assert (reused.status_code, reused.json()["code"], reused.json()["errcode"]) == (502, "wechat_oauth_failed", 40163)


def test_next_must_stay_on_this_site(service, wechat, openid):
    for outside in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        _, page = sign_in(service, wechat, openid, next_path=outside)
        assert handover(page.text)["next"] == "/"
