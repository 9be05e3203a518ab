"""Citizens' ratings over HTTP, on SQLite and PostgreSQL: the app API's rating request (five buttons
titled by level, a payload sent back records it), `POST /api/v1/ratings` from the app and the web page
(someone else's → 403, a second → 409, 0/6/"abc" → 422, markup kept as text, a bad one opens its
case, a flood → 429), and one rating per event when two answers race."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from channels import app_api, web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from conversations.models import Conversation
from core.bus import EventBus, LocalBus
from core.db import make_engine, make_sessionmaker, utcnow
from core.errors import ApiError
from core.settings import Settings
from fakes.rasa import FakeRasa
from ratings.context import Ratings
from ratings.conversation import ConversationRatings
from ratings.models import EventKind, Rating, RectificationCase
from ratings.record import ask, record_rating
from ratings.routes import citizen
from tests.callout.helpers import FrozenClock, client, service_app
from tests.credentials import APP_API_KEY

LABELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


@pytest.fixture(scope="module")
def rasa():
    with FakeRasa() as fake:
        yield fake


@pytest.fixture
async def site(database_url, rasa, tmp_path):
    """The app API, the web session and the ratings route on a small app, ratings wired into the hub."""
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    bus = LocalBus()
    bot = RasaClient(rasa.url, timeout_s=1.0)
    settings = Settings(data_dir=tmp_path, database_url=database_url, rasa_url=rasa.url, app_api_key=APP_API_KEY,
                        rate_limit_citizen=12)
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=1.0)
    ratings = Ratings(settings=settings, sessions=sessions, bus=bus, clock=FrozenClock(utcnow()))
    hub.register_interceptor(ConversationRatings(ratings, bot))
    app = service_app(settings, sessions, (Hub, hub), (EventBus, bus), (Ratings, ratings),
                      routers=[app_api.router, web.router, citizen.router])
    async with client(app) as http:
        yield http, hub, ratings
    await bot.close()
    await engine.dispose()


async def app_user(http, user: str) -> dict[str, str]:
    response = await http.post("/api/v1/app/session", json={"user_id": user}, headers={"X-Api-Key": APP_API_KEY})
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def asked(ratings: Ratings, conversation_id: str, key: str = "handoff:1"):
    async with ratings.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        return await ask(ratings, session, event_key=key, kind=EventKind.AGENT, channel=conversation.channel,
                         conversation_id=conversation_id, citizen_id=conversation.citizen_id, agent_id=7,
                         business="loan-apply", department=None)


async def stored(ratings: Ratings) -> list[Rating]:
    async with ratings.sessions() as session:
        return list((await session.scalars(select(Rating).order_by(Rating.id))).all())


async def test_the_app_gets_five_titled_buttons_and_a_payload_records_the_rating(site, rasa):
    http, _hub, ratings = site
    token = await app_user(http, "app-rater")
    first = await http.post("/api/v1/app/messages", json={"text": "公积金怎么提取"}, headers=token)
    conversation_id = first.json()["conversation_id"]
    rasa.trackers[conversation_id] = {"active_loop": {}, "latest_message": {"intent": {"name": "withdraw-rent"}}}
    thanks = await http.post("/api/v1/app/messages", json={"text": "谢谢"}, headers=token)
    (request,) = thanks.json()["replies"]
    assert [b["title"] for b in request["buttons"]] == LABELS
    payload = request["buttons"][3]["payload"]  # 不满意
    answered = await http.post("/api/v1/app/messages", json={"text": payload}, headers=token)
    assert "原因" in answered.json()["replies"][0]["text"]
    reasons = answered.json()["replies"][0]["buttons"]
    await http.post("/api/v1/app/messages", json={"text": reasons[0]["payload"]}, headers=token)
    (rating,) = await stored(ratings)
    assert (rating.level, rating.kind, rating.channel, rating.reasons) == (2, "bot", "app", ["等待时间长"])


async def test_post_rating_records_once_and_only_for_the_own_conversation(site):
    http, hub, ratings = site
    mine, other = await app_user(http, "owner"), await app_user(http, "stranger")
    conversation = await hub.open_conversation(channel="app", kind="app", value="owner")
    await hub.open_conversation(channel="app", kind="app", value="stranger")
    request = await asked(ratings, conversation.id)

    refused = await http.post("/api/v1/ratings", json={"conversation_id": conversation.id, "level": 5}, headers=other)
    assert (refused.status_code, refused.json()["code"]) == (403, "rating_not_yours")
    by_id = await http.post("/api/v1/ratings", json={"request_id": request.id, "level": 5}, headers=other)
    assert (by_id.status_code, by_id.json()["code"]) == (403, "rating_not_yours")
    for level in (0, 6, "abc", "", -1):
        bad = await http.post("/api/v1/ratings", json={"conversation_id": conversation.id, "level": level},
                              headers=mine)
        assert (bad.status_code, bad.json()["code"]) == (422, "rating_level_invalid"), level
        assert "1 到 5" in bad.json()["message"]
    wrong_reason = await http.post("/api/v1/ratings", headers=mine, json={
        "conversation_id": conversation.id, "level": 1, "reasons": ["随便写的"]})
    assert (wrong_reason.status_code, wrong_reason.json()["code"]) == (422, "rating_reason_invalid")
    too_long = await http.post("/api/v1/ratings", headers=mine, json={
        "conversation_id": conversation.id, "level": 1, "comment": "长" * 501})
    assert (too_long.status_code, too_long.json()["code"]) == (422, "rating_comment_too_long")
    assert await stored(ratings) == [], "nothing stored by a refused call"

    comment = '<img src=x onerror="alert(1)">等了很久'
    created = await http.post("/api/v1/ratings", headers=mine, json={
        "conversation_id": conversation.id, "level": "1", "reasons": ["态度不好", "等待时间长"], "comment": comment})
    assert created.status_code == 201
    assert created.json() | {"rating_id": 0} == {"rating_id": 0, "level": 1, "label": "非常不满意", "case_opened": True}
    second = await http.post("/api/v1/ratings", json={"conversation_id": conversation.id, "level": 5}, headers=mine)
    assert (second.status_code, second.json()["code"]) == (409, "already_rated")
    (rating,) = await stored(ratings)
    assert rating.comment == comment and rating.reasons == ["等待时间长", "态度不好"]
    assert (rating.agent_id, rating.business, rating.department) == (7, "loan-apply", "贷款科")
    async with ratings.sessions() as session:
        case = await session.scalar(select(RectificationCase).where(RectificationCase.rating_id == rating.id))
    assert case is not None and case.department == "贷款科"


async def test_the_web_page_rates_with_its_visitor_token(site):
    http, _hub, ratings = site
    session = (await http.post("/api/v1/web/session", json={})).json()
    await asked(ratings, session["conversation_id"], key="bot:web:1")
    forged = await http.post("/api/v1/ratings", json={
        "conversation_id": session["conversation_id"], "level": 4, "visitor_token": session["visitor_token"] + "x"})
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_token")
    anonymous = await http.post("/api/v1/ratings", json={"conversation_id": session["conversation_id"], "level": 4})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "rating_unauthorized")
    rated = await http.post("/api/v1/ratings", json={
        "conversation_id": session["conversation_id"], "level": 4, "visitor_token": session["visitor_token"]})
    assert rated.status_code == 201 and rated.json()["label"] == "满意" and rated.json()["case_opened"] is False


async def test_without_an_open_request_the_answer_says_why(site):
    http, hub, ratings = site
    token = await app_user(http, "nothing-asked")
    conversation = await hub.open_conversation(channel="app", kind="app", value="nothing-asked")
    none = await http.post("/api/v1/ratings", json={"conversation_id": conversation.id, "level": 5}, headers=token)
    assert (none.status_code, none.json()["code"]) == (404, "rating_request_not_found")
    missing = await http.post("/api/v1/ratings", json={"request_id": 999999, "level": 5}, headers=token)
    assert (missing.status_code, missing.json()["code"]) == (404, "rating_request_not_found")
    target = await http.post("/api/v1/ratings", json={"level": 5}, headers=token)
    assert (target.status_code, target.json()["code"]) == (422, "rating_target_required")
    await asked(ratings, conversation.id)
    ratings.clock.advance(minutes=ratings.settings.rating_request_minutes + 1)
    late = await http.post("/api/v1/ratings", json={"conversation_id": conversation.id, "level": 5}, headers=token)
    assert (late.status_code, late.json()["code"]) == (409, "rating_request_expired")


async def test_a_flood_from_one_citizen_is_refused_with_429(site):
    http, hub, _ratings = site
    token = await app_user(http, "flooder")
    conversation = await hub.open_conversation(channel="app", kind="app", value="flooder")
    answers = [await http.post("/api/v1/ratings", json={"conversation_id": conversation.id, "level": 5},
                               headers=token) for _ in range(13)]
    assert [a.status_code for a in answers[:12]] == [404] * 12
    assert answers[12].status_code == 429 and answers[12].json()["code"] == "rate_limited"
    assert int(answers[12].headers["Retry-After"]) >= 1


async def test_two_answers_racing_store_one_rating(site):
    _http, hub, ratings = site
    conversation = await hub.open_conversation(channel="app", kind="app", value="racer")
    await asked(ratings, conversation.id, key="handoff:race")

    async def answer(level: int) -> object:
        async with ratings.sessions() as session:
            try:
                return await record_rating(ratings, session, event_key="handoff:race", kind="agent", channel="app",
                                           level=level, conversation_id=conversation.id)
            except ApiError as refused:
                return refused.code

    outcomes = await asyncio.gather(*(answer(level) for level in (5, 4, 3, 2, 1)))
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["already_rated"] * 4
    assert len(await stored(ratings)) == 1
