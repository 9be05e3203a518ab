"""The knowledge admin API through the real app: console logins and roles, articles changed, versioned
and searched without a restart, the unanswered-questions hook and report, the index in the health report."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from core.services import services_of
from core.settings import Settings
from server.app import create_app
from server.stack import free_port
from staff import passwords
from tests.corpus import ARTICLES, SEAL, article, write_seed

ADMIN = "/api/v1/knowledge/admin"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # test accounts only


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("knowledge-admin")
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        data_dir=root, index_dir=root / "index", knowledge_dir=write_seed(root / "seed"), rasa_url=nowhere,
        action_server_url=nowhere,
        console_bootstrap_admin="admin:admin-pass-1", knowledge_watch_s=0.2,
        knowledge_ann_threshold=9,  # the seed's three articles make nine chunks: approximate from the start
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", CHEAP)
        with TestClient(create_app(settings)) as client:
            yield client


def login(client: TestClient, username: str, password: str) -> dict:
    response = client.post("/api/v1/console/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # requests carry the bearer token they are given, or nothing
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(scope="module")
def admin(client) -> dict:
    return login(client, "admin", "admin-pass-1")


@pytest.fixture(scope="module")
def agent(client, admin) -> dict:
    name = f"agent-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": "agent-pass-1", "role": "agent", "capacity": 3}
    assert client.post("/api/v1/console/agents", json=body, headers=admin).status_code == 201
    return login(client, name, "agent-pass-1")


def wait_for(check, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/articles"), ("post", "/articles"), ("get", "/articles/rent"), ("put", "/articles/rent"),
     ("post", "/articles/rent/retire"), ("post", "/articles/rent/rollback"), ("get", "/articles/rent/history"),
     ("get", "/articles/rent/diff"), ("get", "/report"), ("get", "/index")],
)
def test_only_admins_reach_the_admin_api(client, admin, agent, method, path):
    body = {"json": {"content": "x", "to_version": 1}} if method in ("post", "put") else {}
    anonymous = getattr(client, method)(ADMIN + path, **body)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_logged_in")
    refused = getattr(client, method)(ADMIN + path, headers=agent, **body)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    if method == "get":
        assert getattr(client, method)(ADMIN + path, headers=admin).status_code == 200


def test_articles_are_added_edited_retired_and_rolled_back_through_the_api(client, admin):
    added = client.post(f"{ADMIN}/articles", json={"content": article("seal", SEAL), "note": "新增"}, headers=admin)
    assert added.status_code == 201, added.text
    assert {k: added.json()[k] for k in ("article_id", "version", "action", "author")} == {
        "article_id": "seal", "version": 1, "action": "create", "author": "admin"}
    edited = client.put(f"{ADMIN}/articles/seal", headers=admin,
                        json={"content": article("seal", SEAL, summary="离职后账户封存，可转移。"), "base_version": 1})
    assert (edited.status_code, edited.json()["version"]) == (200, 2)
    stale = client.put(f"{ADMIN}/articles/seal", headers=admin,
                       json={"content": article("seal", SEAL, summary="旧版本上的修改。"), "base_version": 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "version_conflict")
    assert client.post(f"{ADMIN}/articles/seal/retire", json={}, headers=admin).json()["retired"] is True
    restored = client.post(f"{ADMIN}/articles/seal/rollback", json={"to_version": 2}, headers=admin).json()
    assert (restored["version"], restored["action"], restored["restored_from"]) == (4, "rollback", 2)

    history = client.get(f"{ADMIN}/articles/seal/history", headers=admin).json()["versions"]
    assert [(v["version"], v["action"], v["author"]) for v in history] == [
        (1, "create", "admin"), (2, "edit", "admin"), (3, "retire", "admin"), (4, "rollback", "admin")]
    diff = client.get(f"{ADMIN}/articles/seal/diff", params={"from_version": 1, "to_version": 2}, headers=admin)
    assert "+summary: 离职后账户封存，可转移。" in diff.json()["diff"]
    shown = client.get(f"{ADMIN}/articles/seal", headers=admin).json()
    assert shown["version"] == 4 and "可转移" in shown["content"]
    listed = client.get(f"{ADMIN}/articles", headers=admin).json()["articles"]
    assert sorted(a["article_id"] for a in listed) == sorted([*ARTICLES, "seal"])
    audit = client.get("/api/v1/console/audit", params={"target": "article:seal"}, headers=admin).json()["entries"]
    assert [e["action"] for e in reversed(audit)] == [
        "knowledge_create", "knowledge_edit", "knowledge_retire", "knowledge_rollback"]


def test_a_bad_article_is_refused_with_a_code_and_changes_nothing(client, admin):
    before = client.get(f"{ADMIN}/articles/rent/history", headers=admin).json()["versions"]
    broken = article("rent", ARTICLES["rent"], summary="最多{{loan.caps.nothing|wan}}。")
    refused = client.put(f"{ADMIN}/articles/rent", json={"content": broken}, headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (422, "placeholder_invalid")
    assert refused.json()["message"].startswith("文章未通过检查")
    other = client.put(f"{ADMIN}/articles/rent", json={"content": article("rates", ARTICLES["rates"])}, headers=admin)
    assert (other.status_code, other.json()["code"]) == (422, "id_mismatch")
    assert client.get(f"{ADMIN}/articles/rent/history", headers=admin).json()["versions"] == before
    missing = client.get(f"{ADMIN}/articles/nothing-here", headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "article_not_found")


def test_search_follows_a_change_without_restart(client, admin):
    content = article("deposit-gap", ("断缴补缴", "缴存", "断缴, 补缴", "单位断缴后可以补缴公积金。", "补缴清单", "当月"))
    assert client.post(f"{ADMIN}/articles", json={"content": content}, headers=admin).status_code == 201

    def found() -> bool:
        results = client.get("/api/v1/knowledge/search", params={"q": "单位断缴了能补缴吗"}).json()["results"]
        return bool(results) and results[0]["article_id"] == "deposit-gap"

    wait_for(found)
    assert client.post(f"{ADMIN}/articles/deposit-gap/retire", json={}, headers=admin).status_code == 200
    wait_for(lambda: client.get("/api/v1/knowledge/articles/deposit-gap").status_code == 404)


def test_the_index_choice_is_in_the_health_report_and_the_admin_api(client, admin):
    health = client.get("/healthz").json()
    assert health["checks"]["index"] is True
    assert health["index"]["index_type"] == "hnsw-sq8-ip"
    assert health["index"]["index_params"] == {"threshold": 9, "m": 48, "ef_construction": 160, "ef_search": 128,
                                              "storage": "sq8"}
    assert health["index"]["scope_model"]["negatives"] > 1000, "the scope model and what it learned from"
    state = client.get(f"{ADMIN}/index", headers=admin).json()
    assert state["manifest"]["index_type"] == "hnsw-sq8-ip" and state["revision"] >= 3
    assert state["build"] and "building" in state


def test_unanswered_questions_are_recorded_masked_and_reported(client, admin):
    # Tried by hand (GET): answered, but nobody's conversation, so not reported.
    for question in ("今晚邯郸有没有烟花表演", "今晚邯郸有没有烟花表演呢"):
        assert client.get("/api/v1/knowledge/answer", params={"q": question}).json()["status"] != "answer"
    # Posted without the action server's key (anyone at all): answered, not reported.
    stranger = client.post("/api/v1/knowledge/answer", json={"q": "今晚邯郸有没有烟花表演"})
    assert stranger.status_code == 200 and stranger.json()["status"] != "answer"
    # Asked by the bot for a citizen (POST with its key): reported.
    bot = {"X-Bot-Key": services_of(client.app).get(Settings).bot_api_key.get_secret_value()}
    asked = ["明天邯郸下雨吗？我手机13812345678", "明天邯郸下雨吗", "明天邯郸会不会下雨", "你们食堂几点开饭"]
    for question in asked:
        status = client.post("/api/v1/knowledge/answer", json={"q": question}, headers=bot).json()["status"]
        assert status in ("none", "decline", "clarify"), (question, status)
    answered = client.post("/api/v1/knowledge/answer", json={"q": "交房租能用公积金吗"}, headers=bot)
    assert answered.json()["status"] == "answer"
    # Every answer says why: the decision, the rule, the candidates' scores and the thresholds.
    explain = answered.json()["explain"]
    assert explain["decision"] == "answer" and explain["rule"] in ("clear_top", "signals_agree")
    assert explain["top"][0]["article"] == answered.json()["article_id"]
    assert {"score", "confidence", "title"} <= set(explain["top"][0]) and "min_confidence" in explain["thresholds"]

    report = client.get(f"{ADMIN}/report", headers=admin).json()
    assert report["total"] >= 4
    # The misses by decision and rule: declined by the scope rules or model, or nothing reliable.
    assert sum(row["count"] for row in report["by_decision"]) == report["total"]
    assert all(row["rule"] for row in report["by_decision"])
    assert not any("烟花" in e for g in report["groups"] for e in g["examples"]), "a stranger's question was reported"
    top = report["groups"][0]
    assert top["count"] == 3 and sum(top["kinds"].values()) == 3
    assert "明天邯郸下雨吗？我手机138****5678" in top["examples"]
    assert not any("13812345678" in e for g in report["groups"] for e in g["examples"])
    assert any(g["question"] == "你们食堂几点开饭" for g in report["groups"][1:])
    none = client.get(f"{ADMIN}/report", params={"since": "2000-01-01", "until": "2000-02-01"}, headers=admin).json()
    assert (none["total"], none["groups"]) == (0, [])
