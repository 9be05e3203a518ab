"""Rate and size limits on the public endpoints, through the real app (SQLite, Rasa played by a fake):
one citizen or one address past its limit gets 429 `rate_limited` with Retry-After and nothing is stored;
a body past the cap gets 413 `too_large` before it is parsed; Redis shares the counts between instances."""
from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from core.limits import Limit, LocalCounter, RateLimited, RateLimiter
from core.settings import Settings
from fakes.rasa import FakeRasa
from server.app import UPLOAD_PATHS, create_app
from tests.credentials import APP_API_KEY, APP_HEADERS

CITIZEN_LIMIT = 3


@pytest.fixture(scope="module")
def rasa():
    with FakeRasa() as fake:
        yield fake


def limited_settings(data_dir, rasa_url: str, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, rasa_url=rasa_url, bot_timeout_s=1.5, app_api_key=APP_API_KEY,
                    rate_limit_citizen=CITIZEN_LIMIT, rate_limit_address=1000, rate_limit_sessions=4, **extra)


@pytest.fixture(scope="module")
def client(rasa, tmp_path_factory):
    settings = limited_settings(tmp_path_factory.mktemp("limits"), rasa.url)
    with TestClient(create_app(settings), headers=APP_HEADERS) as test_client:
        yield test_client


def say(client: TestClient, user: str, text: str = "你好") -> object:
    return client.post("/api/v1/app/messages", json={"user_id": user, "text": text})


def assert_rate_limited(response) -> None:
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["message"])
    assert 1 <= int(response.headers["retry-after"]) <= 60


def test_a_citizen_past_the_limit_is_refused_and_the_message_not_stored(client):
    user = f"u-{uuid.uuid4().hex[:8]}"
    for n in range(CITIZEN_LIMIT):
        assert say(client, user, f"第{n}条").status_code == 200
    assert_rate_limited(say(client, user, "多出来的"))
    # Another citizen is unaffected.
    assert say(client, f"v-{uuid.uuid4().hex[:8]}").status_code == 200


def test_sessions_per_address_are_limited(client):
    answers = [client.post("/api/v1/web/session", json={}).status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    assert_rate_limited(client.post("/api/v1/web/session", json={}))


def test_a_one_megabyte_json_body_is_refused_before_it_is_parsed(client):
    body = json.dumps({"user_id": "big", "text": "长" * (1024 * 1024 // 3)}).encode()
    response = client.post("/api/v1/app/messages", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_a_chunked_body_without_length_is_counted_as_it_arrives(client):
    def chunks():
        for _ in range(64):
            yield b"x" * 4096  # 256 KB in all, no Content-Length

    response = client.post("/api/v1/app/messages", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_upload_routes_keep_their_larger_cap(tmp_path):
    from core.limits import BodySizeLimit

    limit = BodySizeLimit(app=None, max_bytes=64 * 1024, upload_max_bytes=21 * 1024 * 1024,  # type: ignore[arg-type]
                          upload_paths=UPLOAD_PATHS)
    assert limit.cap_for("/api/v1/campaigns/import") == 21 * 1024 * 1024
    assert limit.cap_for("/api/v1/outreach/suppressions/import") == 21 * 1024 * 1024
    assert limit.cap_for("/api/v1/campaigns") == 64 * 1024
    assert limit.cap_for("/api/v1/campaigns/import/x") == 64 * 1024


def test_the_chat_socket_past_the_limit_sends_an_error_frame_and_stores_nothing(rasa, tmp_path):
    with TestClient(create_app(limited_settings(tmp_path, rasa.url))) as client:
        socket_past_the_limit(client)


def socket_past_the_limit(client: TestClient) -> None:
    token = client.post("/api/v1/web/session", json={}).json()["visitor_token"]
    with client.websocket_connect(f"/ws/chat?token={token}") as ws:
        ws.receive_json()
        for n in range(CITIZEN_LIMIT + 1):
            ws.send_text(json.dumps({"type": "message", "text": f"第{n}句", "client_msg_id": f"m-{n}"}))
        refused = None
        for _ in range(40):
            frame = ws.receive_json()
            if frame["type"] == "error":
                refused = frame
                break
        assert refused is not None
        assert refused["code"] == "rate_limited" and refused["client_msg_id"] == f"m-{CITIZEN_LIMIT}"
        assert refused["retry_after_s"] >= 1
    with client.websocket_connect(f"/ws/chat?token={token}&after=0") as ws:
        texts = [m["text"] for m in ws.receive_json()["history"] if m["author"] == "citizen"]
    assert f"第{CITIZEN_LIMIT}句" not in texts


async def test_the_window_passes_and_the_citizen_may_write_again():
    now = [1000.0]
    limiter = RateLimiter({"citizen": Limit(2, 10)}, LocalCounter(), clock=lambda: now[0])
    await limiter.check("citizen", "app_messages", "a")
    await limiter.check("citizen", "app_messages", "a")
    with pytest.raises(RateLimited) as refused:
        await limiter.check("citizen", "app_messages", "a")
    assert refused.value.headers["Retry-After"] == "10"
    await limiter.check("citizen", "web_messages", "a")  # another endpoint counts apart
    now[0] += 10
    await limiter.check("citizen", "app_messages", "a")


@pytest.mark.redis
def test_two_instances_share_the_counts_in_redis(rasa, tmp_path, redis_url):
    data_dir = tmp_path / "shared"
    user = f"r-{uuid.uuid4().hex[:8]}"
    first = TestClient(create_app(limited_settings(data_dir, rasa.url, redis_url=redis_url)), headers=APP_HEADERS)
    second = TestClient(create_app(limited_settings(data_dir, rasa.url, redis_url=redis_url)), headers=APP_HEADERS)
    with first, second:
        assert say(first, user).status_code == 200
        assert say(second, user).status_code == 200
        assert say(first, user).status_code == 200
        assert_rate_limited(say(second, user))


def test_cards_are_limited_per_citizen(client):
    user = f"c-{uuid.uuid4().hex[:8]}"
    answers = [client.get("/api/v1/app/cards", params={"user_id": user}).status_code for _ in range(CITIZEN_LIMIT)]
    assert answers == [200] * CITIZEN_LIMIT
    assert_rate_limited(client.get("/api/v1/app/cards", params={"user_id": user}))
    assert client.get("/api/v1/app/cards", params={"user_id": f"d-{uuid.uuid4().hex[:8]}"}).status_code == 200
