"""The console's HTTP and WebSocket interface through the real app: logins and sessions, role checks,
CSRF, the stable interfaces (bootstrap admin, agents, login, pool, claim, duty, handoff), bad input,
and live pool events on two consoles."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update

from core.db import utcnow
from core.services import services_of
from core.settings import Settings, normalise_db_url
from staff.models import ConsoleSession
from tests.agent_console.helpers import PASSWORD

ADMIN = ("admin", "admin-pass-1")


def login(client, username: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/console/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(scope="module")
def admin(app_client) -> dict:
    return login(app_client, *ADMIN)


@pytest.fixture
def make_agent(app_client, admin):
    def make(role: str = "agent", capacity: int = 3, on_duty: bool = True) -> tuple[str, dict]:
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        body = {"username": name, "password": PASSWORD, "role": role, "capacity": capacity,
                "display_name": f"客服 {name}"}
        assert app_client.post("/api/v1/console/agents", json=body, headers=admin).status_code == 201
        headers = login(app_client, name)
        if on_duty:
            assert app_client.post("/api/v1/console/duty", json={"minutes": 60}, headers=headers).status_code == 200
        return name, headers

    return make


def bot_headers(client) -> dict:
    """What the action server sends: its key (the service made it in its data folder on start)."""
    return {"X-Bot-Key": services_of(client.app).get(Settings).bot_api_key.get_secret_value()}


def waiting_conversation(client, reason: str = "citizen_request") -> str:
    user = f"u-{uuid.uuid4().hex[:10]}"
    conversation_id = client.get("/api/v1/app/messages", params={"user_id": user}).json()["conversation_id"]
    client.post("/api/v1/app/messages", json={"user_id": user, "text": "我要找人工"})
    response = client.post("/api/v1/handoff", json={"conversation_id": conversation_id, "reason": reason},
                           headers=bot_headers(client))
    assert response.status_code == 200 and response.json()["outcome"] == "queued", response.text
    return conversation_id


def database_url(client) -> str:
    return normalise_db_url(services_of(client.app).get(Settings).database_url, sync=True)


# -- accounts and logins -----------------------------------------------------------------------------

def test_the_bootstrap_admin_creates_accounts_and_others_cannot(app_client, admin, make_agent):
    _, agent = make_agent(on_duty=False)
    _, supervisor = make_agent("supervisor", on_duty=False)
    body = {"username": "newbie", "password": PASSWORD, "role": "agent", "capacity": 2}
    for headers in (agent, supervisor):
        refused = app_client.post("/api/v1/console/agents", json=body, headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    created = app_client.post("/api/v1/console/agents", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["capacity"] == 2 and "password_hash" not in created.json()
    again = app_client.post("/api/v1/console/agents", json=body, headers=admin)
    assert again.status_code == 409 and again.json()["code"] == "username_taken"
    weak = app_client.post("/api/v1/console/agents", json={**body, "username": "weak", "password": "short"}, headers=admin)
    assert weak.status_code == 422


def test_login_gives_a_strict_httponly_cookie_and_a_bearer_token(app_client, make_agent):
    name, _ = make_agent(on_duty=False)
    response = app_client.post("/api/v1/console/login", json={"username": name, "password": PASSWORD})
    body = response.json()
    assert body["token_type"] == "bearer" and body["token"] and body["agent"]["username"] == name
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith("hpf_console="))
    assert "HttpOnly" in session_cookie and "samesite=strict" in session_cookie.lower()
    assert body["token"] not in response.headers.get("cache-control", "") and response.headers["cache-control"] == "no-store"


def test_wrong_passwords_are_refused_and_then_locked_out(app_client, make_agent):
    name, _ = make_agent(on_duty=False)
    attempts = services_of(app_client.app).get(Settings).console_login_attempts
    for _ in range(attempts):
        wrong = app_client.post("/api/v1/console/login", json={"username": name, "password": "not-it"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    locked = app_client.post("/api/v1/console/login", json={"username": name, "password": PASSWORD})
    assert locked.status_code == 429
    nobody = app_client.post("/api/v1/console/login", json={"username": "ghost", "password": "x"})
    assert nobody.status_code == 401 and nobody.json()["message"] == "用户名或密码不正确。"
    # The agent at their own desk (another address) is not locked out by someone else's guesses.
    desk = TestClient(app_client.app, client=("10.1.2.3", 50000))
    assert desk.post("/api/v1/console/login", json={"username": name, "password": PASSWORD}).status_code == 200


def test_one_address_spraying_many_names_is_slowed(app_client):
    sprayer = TestClient(app_client.app, client=("10.9.9.9", 50000))
    attempts = services_of(app_client.app).get(Settings).console_login_attempts
    codes = [sprayer.post("/api/v1/console/login", json={"username": f"guess-{i}", "password": "x"}).status_code
             for i in range(attempts * 4 + 1)]
    assert set(codes[:-1]) == {401} and codes[-1] == 429
    other = TestClient(app_client.app, client=("10.9.9.10", 50000))
    assert other.post("/api/v1/console/login", json={"username": "guess-0", "password": "x"}).status_code == 401


def test_expired_and_ended_sessions_are_refused(app_client, make_agent):
    name, headers = make_agent(on_duty=False)
    me = app_client.get("/api/v1/console/me", headers=headers).json()["agent"]
    engine = create_engine(database_url(app_client))
    with engine.begin() as conn:  # unused for three hours
        conn.execute(update(ConsoleSession).where(ConsoleSession.agent_id == me["id"])
                     .values(last_used_at=utcnow() - timedelta(hours=3)))
    engine.dispose()
    expired = app_client.get("/api/v1/console/me", headers=headers)
    assert expired.status_code == 401 and expired.json()["code"] == "session_expired"
    fresh = login(app_client, name)
    assert app_client.post("/api/v1/console/logout", headers=fresh).status_code == 200
    assert app_client.get("/api/v1/console/me", headers=fresh).json()["code"] == "session_expired"
    assert app_client.get("/api/v1/console/pool").json()["code"] == "not_logged_in"


def test_cookie_requests_that_change_things_need_the_csrf_token(app_client, make_agent):
    name, _ = make_agent(on_duty=False)
    response = app_client.post("/api/v1/console/login", json={"username": name, "password": PASSWORD})
    csrf = response.json()["csrf_token"]
    assert app_client.get("/api/v1/console/me").status_code == 200, "the cookie alone reads"
    forged = app_client.post("/api/v1/console/duty", json={"minutes": 30})
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
    good = app_client.post("/api/v1/console/duty", json={"minutes": 30}, headers={"X-CSRF-Token": csrf})
    assert good.status_code == 200 and good.json()["state"] == "on_duty"
    app_client.delete("/api/v1/console/duty", headers={"X-CSRF-Token": csrf})
    app_client.cookies.clear()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/console/stats/live", None),
        ("GET", "/api/v1/console/stats/agents", None),
        ("GET", "/api/v1/console/audit", None),
        ("GET", "/api/v1/console/duty/requests", None),
        ("PUT", "/api/v1/console/duty/policy", {"auto_approve": False}),
        ("POST", "/api/v1/console/duty/1/decision", {"approve": True}),
        ("POST", "/api/v1/console/duty/agents/1/end", None),
        ("PATCH", "/api/v1/console/agents/1", {"capacity": 9}),
        ("GET", "/api/v1/console/agents", None),
    ],
)
def test_agents_cannot_call_supervisor_or_admin_endpoints(app_client, make_agent, method, path, body):
    _, agent = make_agent(on_duty=False)
    response = app_client.request(method, path, json=body, headers=agent)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_supervisors_see_figures_and_search_the_audit_log(app_client, make_agent):
    grabber, agent = make_agent()
    _, supervisor = make_agent("supervisor", on_duty=False)
    conversation_id = waiting_conversation(app_client)
    assert app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=agent).status_code == 200
    live = app_client.get("/api/v1/console/stats/live", headers=supervisor).json()
    assert any(c["conversation_id"] == conversation_id and c["state"] == "assigned" for c in live["conversations"])
    figures = app_client.get("/api/v1/console/stats/agents", headers=supervisor).json()
    assert any(a["grabs"] >= 1 for a in figures["agents"])
    found = app_client.get("/api/v1/console/audit", params={"actor": grabber, "action": "grab"}, headers=supervisor)
    assert [e["target"] for e in found.json()["entries"]] == [f"conversation:{conversation_id}"]
    read_only = app_client.get(f"/api/v1/console/conversations/{conversation_id}", headers=supervisor).json()
    assert read_only["mode"] == "read_only"
    send = app_client.post(f"/api/v1/console/conversations/{conversation_id}/messages", json={"text": "插话"},
                           headers=supervisor)
    assert send.status_code == 403
    reads = app_client.get("/api/v1/console/audit", params={"action": "read", "target": f"conversation:{conversation_id}"},
                           headers=supervisor).json()["entries"]
    assert reads[0]["detail"] == {"mode": "read_only"}


# -- the pool through HTTP -----------------------------------------------------------------------------

def test_claim_answers_200_once_then_409_and_404_for_unknown(app_client, make_agent):
    first_name, first = make_agent()
    _, second = make_agent()
    conversation_id = waiting_conversation(app_client)
    pool = app_client.get("/api/v1/console/pool", headers=second).json()
    assert pool["on_duty"] is True and conversation_id in [w["conversation_id"] for w in pool["waiting"]]
    assert app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=first).status_code == 200
    lost = app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=second)
    assert lost.status_code == 409 and lost.json()["code"] == "already_taken"
    # The loser is not told who won: no name in the message, no extra field.
    assert lost.json()["message"] == "手慢了，该会话已被其他客服接入。"
    assert "taken_by" not in lost.json() and first_name not in lost.text
    unknown = app_client.post(f"/api/v1/console/conversations/{'a' * 32}/claim", headers=second)
    assert unknown.status_code == 404
    finished = app_client.post(f"/api/v1/console/conversations/{conversation_id}/finish", headers=first)
    assert finished.status_code == 200
    late = app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=second)
    assert late.status_code == 409 and late.json()["code"] == "not_waiting"
    bad = app_client.post("/api/v1/console/conversations/..%2F..%2Fetc/claim", headers=second)
    assert bad.status_code in (404, 422)


def test_a_grab_is_timed_and_the_wait_it_ended_is_measured(app_client, make_agent):
    """The figures on /metrics: how long the service took to decide each grab (won, refused) and how long
    the citizen had waited for the agent who took them."""
    from prometheus_client import REGISTRY

    def count(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0

    figures = (("hpf_grab_seconds", {"result": "won"}), ("hpf_grab_seconds", {"result": "refused"}),
               ("hpf_handoff_wait_seconds", {"how": "grab"}))
    _, first = make_agent()
    _, second = make_agent()
    conversation_id = waiting_conversation(app_client)
    before = [count(name, **labels) for name, labels in figures]
    assert app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=first).status_code == 200
    assert app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=second).status_code == 409
    assert [count(name, **labels) for name, labels in figures] == [b + 1 for b in before]


def test_the_pool_shows_citizens_words_only_to_agents_on_duty(app_client, make_agent):
    _, agent = make_agent(on_duty=False)
    _, supervisor = make_agent("supervisor", on_duty=False)
    conversation_id = waiting_conversation(app_client)
    off = app_client.get("/api/v1/console/pool", headers=agent)
    assert off.status_code == 403 and off.json()["code"] == "not_on_duty" and "上班" in off.json()["message"]
    assert "我要找人工" not in off.text
    watched = app_client.get("/api/v1/console/pool", headers=supervisor).json()  # supervisors oversee it
    assert watched["on_duty"] is False and conversation_id in [w["conversation_id"] for w in watched["waiting"]]
    assert app_client.post("/api/v1/console/duty", json={"minutes": 60}, headers=agent).status_code == 200
    on = app_client.get("/api/v1/console/pool", headers=agent).json()
    assert on["on_duty"] is True and conversation_id in [w["conversation_id"] for w in on["waiting"]]
    assert app_client.post("/api/v1/console/duty/break", json={"on": True}, headers=agent).status_code == 200
    resting = app_client.get("/api/v1/console/pool", headers=agent)
    assert resting.status_code == 403 and resting.json()["code"] == "on_break"
    # The live socket follows the same rule: off duty, its hello carries no pool and no previews.
    app_client.delete("/api/v1/console/duty", headers=agent)
    with app_client.websocket_connect("/ws/console", headers=agent) as socket:
        hello = socket.receive_json()
        assert hello["type"] == "hello" and hello["pool"] == [] and hello["tickets"] == []


def test_an_agent_sees_only_colleagues_on_duty_to_transfer_to(app_client, make_agent, admin):
    me_name, me = make_agent()
    on_name, _ = make_agent()
    off_name, _ = make_agent(on_duty=False)
    assert app_client.patch(
        f"/api/v1/console/agents/{app_client.get('/api/v1/console/me', headers=me).json()['agent']['id']}",
        json={"skills": ["贷款"]}, headers=admin,
    ).status_code == 200
    listing = app_client.get("/api/v1/console/agents", headers=me)
    assert listing.status_code == 403 and listing.json()["code"] == "forbidden"
    targets = app_client.get("/api/v1/console/agents/transfer-targets", headers=me)
    assert targets.status_code == 200, targets.text
    names = [agent["display_name"] for agent in targets.json()["agents"]]
    assert f"客服 {on_name}" in names and f"客服 {off_name}" not in names and f"客服 {me_name}" not in names
    assert all(set(agent) == {"id", "display_name", "load", "capacity"} for agent in targets.json()["agents"])
    assert "username" not in targets.text and "role" not in targets.text
    assert "贷款" in targets.json()["skills"]
    # Supervisors and admins still list every account, with roles.
    accounts = app_client.get("/api/v1/console/agents", headers=admin).json()["agents"]
    assert {"username", "role", "duty"} <= set(accounts[0])


@pytest.mark.parametrize(
    "body",
    [
        {"conversation_id": "x" * 40, "reason": "citizen_request"},
        {"conversation_id": "abc", "reason": "because"},
        {"conversation_id": "abc", "reason": "citizen_request", "extra": 1},
        {"reason": "citizen_request"},
        {"conversation_id": "abc", "reason": "citizen_request", "slots": {"note": "长" * 5000}},
        {"conversation_id": "abc", "reason": "citizen_request", "slots": {f"s{i}": i for i in range(60)}},
    ],
)
def test_bad_handoff_requests_get_a_coded_chinese_error(app_client, body):
    response = app_client.post("/api/v1/handoff", json=body, headers=bot_headers(app_client))
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


@pytest.mark.parametrize("key", [None, "", "guessed-key"])
def test_only_the_bot_queues_a_citizen_for_a_person(app_client, key):
    user = f"u-{uuid.uuid4().hex[:10]}"
    conversation_id = app_client.get("/api/v1/app/messages", params={"user_id": user}).json()["conversation_id"]
    headers = {} if key is None else {"X-Bot-Key": key}
    body = {"conversation_id": conversation_id, "reason": "complaint", "slots": {"x": "y"}}
    response = app_client.post("/api/v1/handoff", json=body, headers=headers)
    assert response.status_code == 401 and response.json()["code"] == "bot_unauthorized"
    with_key = app_client.post("/api/v1/handoff", json=body, headers=bot_headers(app_client))
    assert with_key.status_code == 200 and with_key.json()["outcome"] in ("queued", "callback")


def test_duty_and_message_input_is_checked(app_client, make_agent):
    _, agent = make_agent(on_duty=False)
    for minutes in (0, -5, "soon"):
        assert app_client.post("/api/v1/console/duty", json={"minutes": minutes}, headers=agent).status_code == 422
    _, owner = make_agent()
    conversation_id = waiting_conversation(app_client)
    app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=owner)
    for body in ({"text": ""}, {"text": "   "}, {"text": "长" * 5000}, {"text": "hi", "links": [{"title": "x", "url": "javascript:alert(1)"}]}):
        response = app_client.post(f"/api/v1/console/conversations/{conversation_id}/messages", json=body, headers=owner)
        assert response.status_code == 422, body
    app_client.post(f"/api/v1/console/conversations/{conversation_id}/finish", headers=owner)


def test_availability_tells_the_bot_whether_someone_is_on_duty(app_client, make_agent):
    _, agent = make_agent()
    on = app_client.get("/api/v1/service/agents").json()
    assert on["agents_available"] is True and on["agents_on_duty"] >= 1
    app_client.delete("/api/v1/console/duty", headers=agent)


def test_two_consoles_see_the_pool_change_live(app_client, make_agent):
    one_name, one = make_agent()
    _, two = make_agent()
    with app_client.websocket_connect("/ws/console", headers=one) as first, \
            app_client.websocket_connect("/ws/console", headers=two) as second:
        assert first.receive_json()["type"] == "hello" and second.receive_json()["type"] == "hello"
        conversation_id = waiting_conversation(app_client)
        for socket in (first, second):
            added = next_of(socket, "pool.added")
            assert added["item"]["conversation_id"] == conversation_id and added["item"]["preview"] == "我要找人工"
        assert app_client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=one).status_code == 200
        removed = next_of(second, "pool.removed")
        assert removed["conversation_id"] == conversation_id and removed["reason"] == "claimed"
        assert "by" not in removed and one_name not in str(removed)  # the losers learn nothing of the winner
        packet = app_client.get(f"/api/v1/console/conversations/{conversation_id}", headers=one).json()
        identity = packet["citizen"]["identities"][0]["value"]
        app_client.post("/api/v1/app/messages", json={"user_id": identity, "text": "<img src=x onerror=alert(1)>"})
        joined = next_of(first, "message")["message"]
        assert joined["author"] == "system" and "已接入" in joined["text"]
        message = next_of(first, "message")
        assert message["conversation_id"] == conversation_id and message["message"]["text"] == "<img src=x onerror=alert(1)>"
        app_client.post(f"/api/v1/console/conversations/{conversation_id}/finish", headers=one)


def test_a_socket_without_a_login_or_from_another_site_is_refused(app_client, make_agent):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as anonymous:
        with app_client.websocket_connect("/ws/console") as socket:
            socket.receive_json()
    assert anonymous.value.code == 4403
    name, _ = make_agent(on_duty=False)
    app_client.post("/api/v1/console/login", json={"username": name, "password": PASSWORD})
    with pytest.raises(WebSocketDisconnect) as cross_site:
        with app_client.websocket_connect("/ws/console", headers={"Origin": "https://evil.example"}) as socket:
            socket.receive_json()
    assert cross_site.value.code == 4403
    with app_client.websocket_connect("/ws/console", headers={"Origin": "http://testserver"}) as socket:
        assert socket.receive_json()["type"] == "hello"
        socket.send_text("{not json")  # ignored, the socket stays up
        socket.send_json({"type": "ping"})
        assert socket.receive_json()["type"] == "pong"
    app_client.cookies.clear()


def test_console_pages_are_served_with_a_strict_content_security_policy(app_client):
    for path in ("/console", "/console/supervisor"):
        page = app_client.get(path)
        assert page.status_code == 200 and '<meta charset="utf-8">' in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    for asset in ("common.js", "console.js", "supervisor.js", "console.css"):
        assert app_client.get(f"/console/static/{asset}").status_code == 200
    scripts = "".join(app_client.get(f"/console/static/{s}").text for s in ("common.js", "console.js", "supervisor.js"))
    assert "innerHTML" not in scripts and "insertAdjacentHTML" not in scripts and "eval(" not in scripts


def next_of(socket, kind: str, pings: int = 200) -> dict:
    """The next frame of `kind`. Pings keep this from waiting forever: each pong means the server had
    a turn, and after `pings` of them the frame is not coming."""
    socket.send_json({"type": "ping"})
    while pings:
        frame = socket.receive_json()
        if frame["type"] == kind:
            return frame
        if frame["type"] == "pong":
            pings -= 1
            time.sleep(0.01)
            socket.send_json({"type": "ping"})
    raise AssertionError(f"no {kind} frame")
