"""Handoff with the real Rasa, action server and service: the bot's action queues the conversation and
pauses Rasa, the bot stays silent while a person owns it, and the hand-back resumes it; the reasons the
action reports (complaint, two misunderstandings, a question about the citizen's own account)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.agent_console.helpers import PASSWORD, add_agent_sync
from tests.credentials import APP_HEADERS

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def service(live_service) -> Iterator[tuple[httpx.Client, dict]]:
    """The live system with one agent on duty (off duty again afterwards: other suites share it)."""
    name = f"live-{uuid.uuid4().hex[:8]}"
    add_agent_sync(f"sqlite:///{live_service.data_dir / 'hpf.db'}", name, capacity=10, display_name="小李")
    with httpx.Client(base_url=live_service.base_url, timeout=30, headers=APP_HEADERS) as client:
        token = client.post("/api/v1/console/login", json={"username": name, "password": PASSWORD}).json()["token"]
        agent = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/console/duty", json={"minutes": 60}, headers=agent).status_code == 200
        yield client, agent
        client.delete("/api/v1/console/duty", headers=agent)


def say(client: httpx.Client, user: str, text: str) -> dict:
    response = client.post("/api/v1/app/messages", json={"user_id": user, "text": text})
    assert response.status_code == 200, response.text
    return response.json()


def leave_queue(client: httpx.Client, user: str) -> None:
    """The citizen leaves a message instead of waiting: nothing is left in the shared service's pool."""
    (reply,) = say(client, user, "留言")["replies"]
    assert "已为您登记留言" in reply["text"]


def tracker(live_service, conversation_id: str) -> dict:
    return httpx.get(f"{live_service.rasa_url}/conversations/{conversation_id}/tracker", timeout=10).json()


def stored_rating(live_service, conversation_id: str) -> int | None:
    engine = create_engine(f"sqlite:///{live_service.data_dir / 'hpf.db'}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT rating FROM handoffs WHERE conversation_id = :c"),
                                {"c": conversation_id}).scalar()
    finally:
        engine.dispose()


def test_handoff_pauses_the_bot_and_the_handback_resumes_it(live_service, service):
    client, agent = service
    user = f"live-{uuid.uuid4().hex[:8]}"
    asked = say(client, user, "转人工")
    conversation_id = asked["conversation_id"]
    (queued,) = asked["replies"]
    assert "正在为您转接人工客服" in queued["text"] and "留言" in [b["payload"] for b in queued["buttons"]]
    assert tracker(live_service, conversation_id)["paused"] is True

    assert say(client, user, "有人吗")["replies"] == [], "waiting: the bot is silent"
    claim = client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=agent)
    assert claim.status_code == 200
    assert say(client, user, "租房提取要什么材料")["replies"] == [], "with an agent: the bot is silent"
    client.post(f"/api/v1/console/conversations/{conversation_id}/messages", json={"text": "您好，我是小李"},
                headers=agent)
    user_events = [e["text"] for e in tracker(live_service, conversation_id)["events"] if e["event"] == "user"]
    assert user_events == ["转人工"], "Rasa never saw the messages meant for the person"

    finished = client.post(f"/api/v1/console/conversations/{conversation_id}/finish", headers=agent).json()
    assert finished["bot_resumed"] is True
    assert tracker(live_service, conversation_id)["paused"] is False
    pushes = client.get("/api/v1/app/messages", params={"user_id": user}).json()["messages"]
    assert "您好，我是小李" in [m["text"] for m in pushes if m["author"] == "agent"]
    assert pushes[-1]["payload"]["rating_request"] == {"conversation_id": conversation_id}
    rated = say(client, user, "5")
    assert rated["replies"][0]["text"].startswith("感谢您的评价（非常满意）")  # "5" is the best of the five levels
    answer = say(client, user, "租房提取公积金需要什么材料")
    (reply,) = answer["replies"]
    assert reply["sources"], "the resumed bot answers from the knowledge base again"
    assert stored_rating(live_service, conversation_id) == 5


def test_a_complaint_is_handed_over_as_a_complaint(live_service, service):
    client, agent = service
    user = f"angry-{uuid.uuid4().hex[:8]}"
    asked = say(client, user, "你们服务太差了，我要投诉")
    assert asked["replies"][0]["text"].startswith("很抱歉给您带来了不好的体验。")
    pool = client.get("/api/v1/console/pool", headers=agent).json()["waiting"]
    item = next(w for w in pool if w["conversation_id"] == asked["conversation_id"])
    assert item["reason"] == "complaint" and item["priority"] == 2
    leave_queue(client, user)


def test_accepting_the_offer_after_two_misunderstandings_is_reported_as_such(live_service, service):
    client, agent = service
    user = f"lost-{uuid.uuid4().hex[:8]}"
    # About the fund (so not declined as out of scope), but nothing the knowledge base can answer.
    say(client, user, "公积金那个事儿咋弄来着")
    offer = say(client, user, "就是上回说的那个公积金的事")["replies"][0]
    assert "转人工" in [b["payload"] for b in offer["buttons"]], "the second failure offers a person"
    asked = say(client, user, "转人工")
    pool = client.get("/api/v1/console/pool", headers=agent).json()["waiting"]
    item = next(w for w in pool if w["conversation_id"] == asked["conversation_id"])
    assert item["reason"] == "failed_understanding"
    leave_queue(client, user)


def test_a_question_about_the_citizens_own_account_goes_to_a_person(live_service, service):
    client, agent = service
    user = f"own-{uuid.uuid4().hex[:8]}"
    answer = say(client, user, "我的提取申请到哪一步了")["replies"][0]
    assert {"title": "请人工帮我查", "payload": "转人工"} in answer["buttons"]
    asked = say(client, user, "转人工")
    pool = client.get("/api/v1/console/pool", headers=agent).json()["waiting"]
    item = next(w for w in pool if w["conversation_id"] == asked["conversation_id"])
    assert item["reason"] == "account_specific" and item["intent"] == "query_progress"
    leave_queue(client, user)
