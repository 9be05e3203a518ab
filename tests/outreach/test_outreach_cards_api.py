"""The card routes: the app (backend key or citizen token, as the app's messages check them) and the web
page (the visitor's signed token) each read and put away their own citizen's cards, and nobody else's."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from channels import app_api, web
from conversations.models import Citizen, Identity
from core.settings import Settings
from core.signing import sign
from outreach import cards, links
from outreach.context import Outreach
from outreach.models import FunnelEvent
from outreach.routes import cards as card_routes
from tests.callout.helpers import FrozenClock, client, local
from tests.credentials import APP_API_KEY, APP_HEADERS
from tests.outreach.helpers import PUBLIC, on_database, outreach_app

NOW = local(2026, 12, 7, 10, 0)


@pytest.fixture
async def outreach(database_url, tmp_path):
    async with on_database(Outreach, database_url, tmp_path, FrozenClock(NOW), app_api_key=APP_API_KEY) as made:
        yield made


@pytest.fixture
async def api(outreach):
    async with client(outreach_app(outreach, routers=[card_routes.router])) as http:
        yield http


async def citizen(outreach: Outreach, citizen_id: str, **identities: str) -> None:
    async with outreach.sessions() as session:
        session.add(Citizen(id=citizen_id))
        session.add_all(Identity(citizen_id=citizen_id, kind=kind, value=value) for kind, value in identities.items())
        await session.commit()


async def card(outreach: Outreach, citizen_id: str, recipient_id: int, *, title: str = "偿还商贷提取") -> tuple[int, str]:
    row, issued = links.new_link(outreach.settings, business="withdraw-repay-commercial-loan", now=NOW,
                                 citizen_id=citizen_id, recipient_id=recipient_id, campaign_id=3, ttl_s=7 * 86400)
    async with outreach.sessions() as session:
        session.add(row)
        await session.flush()
        made = await cards.post_card(session, citizen_id=citizen_id, business=row.business, title=title,
                                     text="您有商业贷款，可按月提取公积金还贷。", link_id=row.id, campaign_id=3,
                                     recipient_id=recipient_id, expires_at=row.expires_at)
        await session.commit()
    assert made is not None
    return made.id, issued.url


def bearer(settings: Settings, purpose: str, value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign(settings.session_secret.get_secret_value(), purpose, value)}"}


async def test_app_reads_and_dismisses_its_own_cards(outreach, api) -> None:
    await citizen(outreach, "c-alice", app="u-alice")
    await citizen(outreach, "c-bob", app="u-bob")
    alice_card, url = await card(outreach, "c-alice", 1)
    bob_card, _ = await card(outreach, "c-bob", 2)

    listed = await api.get("/api/v1/app/cards", params={"user_id": "u-alice"}, headers=APP_HEADERS)
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()["cards"]
    assert shown["id"] == alice_card and shown["title"] == "偿还商贷提取" and shown["url"] == url
    assert shown["business_name"] == "偿还商业贷款提取"
    assert url.startswith(f"{PUBLIC}/o/")
    assert listed.headers["cache-control"] == "no-store"

    token = bearer(outreach.settings, app_api.TOKEN_PURPOSE, "u-alice")
    assert [c["id"] for c in (await api.get("/api/v1/app/cards", headers=token)).json()["cards"]] == [alice_card]
    # Another citizen's card answers like one that does not exist.
    refused = await api.post(f"/api/v1/app/cards/{bob_card}/dismiss", headers=token)
    assert refused.status_code == 404 and refused.json()["code"] == "card_not_found"
    assert (await api.post("/api/v1/app/cards/999999/dismiss", headers=token)).status_code == 404
    done = await api.post(f"/api/v1/app/cards/{alice_card}/dismiss", headers=token)
    assert done.status_code == 204
    assert (await api.get("/api/v1/app/cards", headers=token)).json()["cards"] == []
    bobs = await api.get("/api/v1/app/cards", params={"user_id": "u-bob"}, headers=APP_HEADERS)
    assert [c["id"] for c in bobs.json()["cards"]] == [bob_card]


async def test_app_credentials_as_the_app_channel_checks_them(outreach, api) -> None:
    await citizen(outreach, "c-alice", app="u-alice")
    card_id, _ = await card(outreach, "c-alice", 1)
    for method, path in (("GET", "/api/v1/app/cards"), ("POST", f"/api/v1/app/cards/{card_id}/dismiss")):
        none = await api.request(method, path, params={"user_id": "u-alice"})
        assert none.status_code == 401 and none.json()["code"] == "app_unauthorized"
        wrong_key = await api.request(method, path, params={"user_id": "u-alice"}, headers={"X-Api-Key": "nope"})
        assert wrong_key.status_code == 401 and wrong_key.json()["code"] == "invalid_api_key"
        forged = await api.request(method, path, headers={"Authorization": "Bearer u-alice.forged"})
        assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"
        token = bearer(outreach.settings, app_api.TOKEN_PURPOSE, "u-mallory")
        mismatch = await api.request(method, path, params={"user_id": "u-alice"}, headers=token)
        assert mismatch.status_code == 403 and mismatch.json()["code"] == "user_mismatch"
        unnamed = await api.request(method, path, headers=APP_HEADERS)
        assert unnamed.status_code == 422 and unnamed.json()["code"] == "user_id_required"
    # A web visitor's token is not an app token (and the reverse).
    web_token = bearer(outreach.settings, web.TOKEN_PURPOSE, "u-alice")
    assert (await api.get("/api/v1/app/cards", headers=web_token)).status_code == 401
    app_token = bearer(outreach.settings, app_api.TOKEN_PURPOSE, "u-alice")
    assert (await api.get("/api/v1/web/cards", headers=app_token)).status_code == 401
    # An app user nobody has linked yet simply has no cards.
    stranger = await api.get("/api/v1/app/cards", params={"user_id": "u-new"}, headers=APP_HEADERS)
    assert stranger.status_code == 200 and stranger.json() == {"cards": []}


async def test_web_visitor_reads_and_dismisses_the_citizens_cards(outreach, api) -> None:
    # The visitor of a follower who came through the WeChat menu is the same citizen as the openid.
    await citizen(outreach, "c-alice", wechat="openid-alice", web="visitor-alice")
    await citizen(outreach, "c-bob", web="visitor-bob")
    alice_card, url = await card(outreach, "c-alice", 1)
    bob_card, _ = await card(outreach, "c-bob", 2)
    alice = bearer(outreach.settings, web.TOKEN_PURPOSE, "visitor-alice")

    missing = await api.get("/api/v1/web/cards")
    assert missing.status_code == 401 and missing.json()["code"] == "web_unauthorized"
    forged = await api.get("/api/v1/web/cards", headers={"Authorization": "Bearer visitor-bob.x"})
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"

    listed = await api.get("/api/v1/web/cards", headers=alice)
    assert listed.headers["cache-control"] == "no-store"
    assert [(c["id"], c["url"]) for c in listed.json()["cards"]] == [(alice_card, url)]
    assert (await api.post(f"/api/v1/web/cards/{bob_card}/dismiss", headers=alice)).status_code == 404
    assert (await api.post(f"/api/v1/web/cards/{alice_card}/dismiss", headers=alice)).status_code == 204
    assert (await api.get("/api/v1/web/cards", headers=alice)).json()["cards"] == []
    assert (await api.post("/api/v1/web/cards/0/dismiss", headers=alice)).status_code == 422


async def test_showing_a_card_counts_delivered_once(outreach, api) -> None:
    await citizen(outreach, "c-alice", app="u-alice", web="visitor-alice")
    await card(outreach, "c-alice", 41)
    for _ in range(2):  # the app and the web page both show it: one person, one delivery
        await api.get("/api/v1/app/cards", params={"user_id": "u-alice"}, headers=APP_HEADERS)
        await api.get("/api/v1/web/cards", headers=bearer(outreach.settings, web.TOKEN_PURPOSE, "visitor-alice"))
    async with outreach.sessions() as session:
        rows = (await session.execute(select(FunnelEvent.subject, FunnelEvent.stage, FunnelEvent.channel,
                                             FunnelEvent.at))).all()
    assert [tuple(row) for row in rows] == [("r:41", "delivered", "card", NOW)]


async def test_expired_cards_are_not_shown(outreach, api) -> None:
    await citizen(outreach, "c-alice", app="u-alice")
    await card(outreach, "c-alice", 1)
    outreach.clock.advance(days=7, seconds=1)
    listed = await api.get("/api/v1/app/cards", params={"user_id": "u-alice"}, headers=APP_HEADERS)
    assert listed.json() == {"cards": []}
    async with outreach.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(FunnelEvent)) == 0


async def test_landing_page_has_a_csp_and_no_inline_script(api) -> None:
    page = await api.get("/me")
    assert page.status_code == 200 and "我的待办" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text and 'src="/static/cards.js"' in page.text
