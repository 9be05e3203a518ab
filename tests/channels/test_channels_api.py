"""The app API and the web channel through the real FastAPI app (SQLite; Rasa played by a local fake
speaking its REST protocol, so faults can be switched on)."""
from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from conversations.hub import Hub
from conversations.models import Author, Channel
from conversations.replies import Reply
from core.settings import Settings
from fakes.rasa import FakeRasa
from server.app import create_app
from tests.credentials import APP_API_KEY, APP_HEADERS


@pytest.fixture(scope="module")
def rasa():
    with FakeRasa() as fake:
        yield fake


@pytest.fixture(scope="module")
def client(rasa, tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("api"), rasa_url=rasa.url, bot_timeout_s=1.5,
                        app_api_key=APP_API_KEY)
    with TestClient(create_app(settings), headers=APP_HEADERS) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def fast_bot(rasa):
    rasa.delay = 0.0


def post(client, body, **kw):
    return client.post("/api/v1/app/messages", json=body, **kw)


# -- app API ---------------------------------------------------------------------------------------

def test_app_message_contract(client, rasa):
    response = post(client, {"user_id": "app-1", "text": "你好"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"conversation_id", "message_id", "replies"}
    reply = body["replies"][0]
    assert len(body["replies"]) == 1 and {k: reply[k] for k in ("text", "buttons", "links", "sources")} == {
        "text": "收到：你好", "buttons": [], "links": [], "sources": []
    }
    assert reply["buttons_valid"] is None  # no buttons: nothing to be valid
    assert rasa.received[-1]["sender"] == body["conversation_id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"user_id": "u", "text": ""}, "empty_message"),
        ({"user_id": "u", "text": "   \n\t "}, "empty_message"),
        ({"user_id": "u", "text": "\x00\x01"}, "empty_message"),
        ({"user_id": "u", "text": "长" * 10000}, "message_too_long"),
        ({"user_id": "u", "text": 123}, "invalid_request"),
        ({"user_id": 5, "text": "hi"}, "invalid_request"),
        ({"user_id": "u", "text": ["a"]}, "invalid_request"),
        ({"user_id": "u", "text": "hi", "extra": 1}, "invalid_request"),
        ({"text": "hi"}, "user_id_required"),  # the backend must name the citizen
        ({"user_id": "bad id with spaces", "text": "hi"}, "invalid_request"),
    ],
)
def test_bad_app_input_gets_a_coded_chinese_error(client, body, code):
    response = post(client, body)
    assert response.status_code == 422
    error = response.json()
    assert error["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"\xff\xfe\x00binary", 400, "bad_request"),
        (b"not json", 422, "invalid_request"),
        (b'{"user_id": "u", "text": ', 422, "invalid_request"),
    ],
)
def test_non_json_body_is_a_clear_error_not_a_crash(client, raw, status, code):
    response = client.post("/api/v1/app/messages", content=raw, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.json()["message"]


def test_emoji_and_markup_are_answered_as_text(client):
    for text in ("😀😀😀", "<script>alert(1)</script>"):
        response = post(client, {"user_id": "app-2", "text": text})
        assert response.status_code == 200
        assert response.json()["replies"][0]["text"] == f"收到：{text}"


def test_retry_with_client_msg_id_is_stored_once(client, rasa):
    before = len(rasa.received)
    first = post(client, {"user_id": "app-3", "text": "问一下", "client_msg_id": "x-1"}).json()
    retry = post(client, {"user_id": "app-3", "text": "问一下", "client_msg_id": "x-1"}).json()
    assert first == retry
    assert len(rasa.received) == before + 1


def test_slow_bot_answer_from_knowledge_within_five_seconds(client, rasa):
    rasa.delay = 8.0
    started = time.monotonic()
    response = post(client, {"user_id": "app-4", "text": "租房提取要准备哪些材料"})
    assert time.monotonic() - started < 5.0
    reply = response.json()["replies"][0]
    assert reply["sources"] and "知识库" in reply["text"]
    pushes = client.get("/api/v1/app/messages", params={"user_id": "app-4"}).json()["messages"]
    assert pushes[0]["text"] == "租房提取要准备哪些材料", "the citizen's message is kept"


def test_long_poll_returns_a_later_push(client):
    first = post(client, {"user_id": "app-5", "text": "你好"}).json()
    last_id = client.get("/api/v1/app/messages", params={"user_id": "app-5"}).json()["messages"][-1]["id"]
    result: dict = {}

    def poll() -> None:
        result["response"] = client.get(
            "/api/v1/app/messages", params={"user_id": "app-5", "after": last_id, "wait": 10}
        )

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive(), "long poll waits while nothing is new"
    post(client, {"user_id": "app-5", "text": "再问一个"})
    poller.join(timeout=10)
    messages = result["response"].json()["messages"]
    assert result["response"].json()["conversation_id"] == first["conversation_id"]
    assert [m["text"] for m in messages][:1] == ["再问一个"]


def pushes(client, conversation_id: str, count: int) -> None:
    """`count` agent messages straight through the hub (the citizen's rate limit bounds the API)."""
    hub = client.app.state.services.get(Hub)

    async def send() -> None:
        for n in range(count):
            await hub.send(conversation_id, Channel.APP, Author.AGENT, Reply(text=f"推送{n}"))

    client.portal.call(send)


def test_a_poll_far_behind_pages_forward_without_skipping(client):
    """An app offline while 450 messages arrived catches up page by page from its cursor, oldest
    first, every message once: the newest 200 alone would skip the 250 before them."""
    first = post(client, {"user_id": "app-far", "text": "你好"}).json()
    cursor = first["message_id"]
    pushes(client, first["conversation_id"], 450)
    seen: list[str] = []
    pages = 0
    while True:
        page = client.get("/api/v1/app/messages", params={"user_id": "app-far", "after": cursor}).json()
        pages += 1
        seen += [m["text"] for m in page["messages"]]
        if not page["more"]:
            break
        cursor = page["messages"][-1]["id"]
    assert pages == 3
    assert seen[0] == "收到：你好" and seen[1:] == [f"推送{n}" for n in range(450)]


def test_a_page_reconnecting_far_behind_gets_all_it_missed(client):
    session = web_session(client)
    with client.websocket_connect(f"/ws/chat?token={session['visitor_token']}") as ws:
        ws.receive_json()
        ws.send_text(json.dumps({"type": "message", "text": "在吗", "client_msg_id": "far-1"}))
        echo = receive_until(ws, lambda f: f["type"] == "message" and f["message"]["author"] == "citizen")
        receive_until(ws, lambda f: f["type"] == "message" and f["message"]["author"] == "bot")
    pushes(client, session["conversation_id"], 300)
    after = echo["message"]["id"]
    with client.websocket_connect(f"/ws/chat?token={session['visitor_token']}&after={after}") as ws:
        history = [m["text"] for m in ws.receive_json()["history"]]
    assert history == ["收到：在吗", *(f"推送{n}" for n in range(300))]


@pytest.mark.parametrize("key", ["", "s3cret-app-backend-key"])
def test_nobody_reads_or_writes_as_a_citizen_without_a_credential(rasa, tmp_path, key):
    """With or without an app key configured, a bare user_id opens nobody's history."""
    settings = Settings(data_dir=tmp_path, rasa_url=rasa.url, app_api_key=key)
    with TestClient(create_app(settings)) as app:
        backend = {"X-Api-Key": key} if key else {}
        if key:
            assert post(app, {"user_id": "victim", "text": "我的身份证130402199001011234"}, headers=backend).status_code == 200
        for response in (
            app.get("/api/v1/app/messages", params={"user_id": "victim", "after": 0}),
            post(app, {"user_id": "victim", "text": "冒充"}),
            app.post("/api/v1/voice/app/offer", json={"user_id": "victim", "sdp": "v=0", "type": "offer"}),
        ):
            assert response.status_code == 401 and response.json()["code"] == "app_unauthorized", response.text
        wrong = app.get("/api/v1/app/messages", params={"user_id": "victim"}, headers={"X-Api-Key": "guess"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_api_key"
        forged = app.get("/api/v1/app/messages", headers={"Authorization": "Bearer victim.AAAAAAAAAAAAAAAAAAAAAAAA"})
        assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"
        # Asking for a token in someone's name needs the backend's key.
        minted = app.post("/api/v1/app/session", json={"user_id": "victim"})
        assert minted.status_code == 401 and minted.json()["code"] == "app_unauthorized"


def as_citizen(client, method: str, url: str, token: str | None, **kw):
    """A request from the app on the phone: the citizen's token, not the backend's key."""
    request = client.build_request(method, url, **kw)
    del request.headers["X-Api-Key"]
    if token:
        request.headers["Authorization"] = f"Bearer {token}"
    return client.send(request)


def test_a_citizen_token_speaks_for_its_citizen_only(client):
    anonymous = as_citizen(client, "POST", "/api/v1/app/session", None, json={}).json()
    assert anonymous["user_id"].startswith("anon-") and anonymous["token"]
    token = anonymous["token"]
    sent = as_citizen(client, "POST", "/api/v1/app/messages", token, json={"text": "你好"})
    assert sent.status_code == 200, sent.text
    pushes = as_citizen(client, "GET", "/api/v1/app/messages", token).json()
    assert pushes["conversation_id"] == sent.json()["conversation_id"]
    assert [m["text"] for m in pushes["messages"]][:1] == ["你好"]
    assert post(client, {"user_id": "app-tok", "text": "你好"}).status_code == 200
    other = as_citizen(client, "GET", "/api/v1/app/messages", token, params={"user_id": "app-tok"})
    assert other.status_code == 403 and other.json()["code"] == "user_mismatch"
    # The backend mints a token for its logged-in citizen; the token then reads that citizen's messages.
    minted = client.post("/api/v1/app/session", json={"user_id": "app-tok"}).json()
    assert minted["user_id"] == "app-tok"
    mine = as_citizen(client, "GET", "/api/v1/app/messages", minted["token"])
    assert mine.status_code == 200 and mine.json()["messages"]
    # The backend must name the citizen.
    assert post(client, {"text": "你好"}).json()["code"] == "user_id_required"


def test_production_refuses_to_start_without_an_app_key(tmp_path):
    with pytest.raises(ValueError, match="APP_API_KEY"):
        Settings(data_dir=tmp_path, environment="production", session_secret="x" * 40)


def test_knowledge_search_contract(client):
    response = client.get("/api/v1/knowledge/search", params={"q": "房租能用公积金付吗", "k": 3})
    results = response.json()["results"]
    assert 1 <= len(results) <= 3
    assert set(results[0]) == {"article_id", "title", "score", "snippet"}
    assert client.get("/api/v1/knowledge/search", params={"q": "  "}).json()["code"] == "empty_query"
    assert client.get("/api/v1/knowledge/search", params={"q": "x", "k": 99}).status_code == 422


def test_unknown_route_is_json_404(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# -- web channel -------------------------------------------------------------------------------------

def web_session(client, token=None) -> dict:
    response = client.post("/api/v1/web/session", json={"visitor_token": token} if token else {})
    assert response.status_code == 200, response.text
    return response.json()


def receive_until(ws, predicate, limit=10) -> dict:
    for _ in range(limit):
        frame = ws.receive_json()
        if predicate(frame):
            return frame
    raise AssertionError("expected frame not received")


def test_page_is_served_with_charset(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "charset=utf-8" in response.text.lower().replace('"', "").replace(" ", "")
    assert "{{hotline}}" not in response.text and 'href="tel:12329"' in response.text, "HOTLINE, filled in"


def test_page_is_served_with_the_console_page_security(client):
    """The chat page shows citizens' and the bot's texts: scripts only from us, never framed, no sniffing,
    no Referer, as the console; its WebSocket and the voice button's audio are still allowed."""
    headers = client.get("/").headers
    policy = headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
                      "media-src 'self' blob: data:", "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in policy, directive
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-cache"


def test_web_chat_round_trip_and_history_after_reconnect(client):
    session = web_session(client)
    token = session["visitor_token"]
    with client.websocket_connect(f"/ws/chat?token={token}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["conversation_id"] == session["conversation_id"]
        ws.send_text(json.dumps({"type": "message", "text": "在吗", "client_msg_id": "w-1"}))
        echo = receive_until(ws, lambda f: f["type"] == "message" and f["message"]["author"] == "citizen")
        assert echo["message"]["payload"]["client_msg_id"] == "w-1"
        reply = receive_until(ws, lambda f: f["type"] == "message" and f["message"]["author"] == "bot")
        assert reply["message"]["text"] == "收到：在吗"
    # The page reloads: the same token continues the same conversation with its history.
    again = web_session(client, token)
    assert again["conversation_id"] == session["conversation_id"]
    with client.websocket_connect(f"/ws/chat?token={token}&after=0") as ws:
        history = ws.receive_json()["history"]
        assert [m["text"] for m in history] == ["在吗", "收到：在吗"]
    with client.websocket_connect(f"/ws/chat?token={token}&after={history[0]['id']}") as ws:
        assert [m["text"] for m in ws.receive_json()["history"]] == ["收到：在吗"]


def test_resent_message_after_reconnect_is_not_duplicated(client):
    token = web_session(client)["visitor_token"]
    for _ in range(2):
        with client.websocket_connect(f"/ws/chat?token={token}") as ws:
            ws.receive_json()
            ws.send_text(json.dumps({"type": "message", "text": "重发的消息", "client_msg_id": "same-id"}))
            receive_until(ws, lambda f: f["type"] == "message" and f["message"]["author"] == "citizen")
    with client.websocket_connect(f"/ws/chat?token={token}") as ws:
        texts = [m["text"] for m in ws.receive_json()["history"]]
    assert texts.count("重发的消息") == 1


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        (json.dumps({"type": "message"}), "bad_frame"),
        (json.dumps({"type": "message", "text": 7}), "bad_frame"),
        (json.dumps([1, 2]), "bad_frame"),
        (json.dumps({"type": "message", "text": "  "}), "empty_message"),
        (json.dumps({"type": "message", "text": "字" * 3000}), "message_too_long"),
        (json.dumps({"type": "message", "text": "x" * 70000}), "message_too_long"),
    ],
)
def test_bad_frames_get_an_error_and_the_socket_stays_open(client, frame, code):
    token = web_session(client)["visitor_token"]
    with client.websocket_connect(f"/ws/chat?token={token}") as ws:
        ws.receive_json()
        ws.send_text(frame)
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == code
        ws.send_text(json.dumps({"type": "message", "text": "还能用吗"}))
        receive_until(ws, lambda f: f["type"] == "message" and f["message"]["text"] == "收到：还能用吗")


def test_forged_token_is_refused(client):
    token = web_session(client)["visitor_token"]
    visitor, _, mac = token.rpartition(".")
    forged = f"{'0' * len(visitor)}.{mac}"
    assert client.post("/api/v1/web/session", json={"visitor_token": forged}).json()["code"] == "invalid_token"
    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect(f"/ws/chat?token={forged}") as ws:
            ws.receive_json()
    assert closed.value.code == 4401


@pytest.mark.parametrize("query", ["after=9223372036854775808", "after=-9223372036854775809", "after=" + "9" * 40])
def test_a_number_past_64_bits_is_an_invalid_request_not_a_crash(client, query):
    reply = client.get(f"/api/v1/app/messages?user_id=big-number-user&{query}")
    assert reply.status_code == 422
    assert reply.json()["code"] == "invalid_request" and reply.json()["message"]
