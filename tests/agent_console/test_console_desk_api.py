"""The console's desk through the real app: display names that are never the login name, private notes
that no citizen channel shows, the packet in words (the real question, a Chinese label for the need, the
citizen as "App 用户"), suggestions from the real question, and typing told both ways (app long poll and
console socket)."""
from __future__ import annotations

import threading
import uuid

import pytest
from fastapi.testclient import TestClient

from agent_console.glance import citizen_label, need_label, real_question
from core.services import services_of
from core.settings import Settings
from tests.agent_console.helpers import PASSWORD

ADMIN = ("admin", "admin-pass-1")


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/v1/console/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture(scope="module")
def admin(app_client: TestClient) -> dict:
    return login(app_client, *ADMIN)


def agent_on_duty(client: TestClient, admin: dict, display_name: str | None = None) -> tuple[dict, dict]:
    name = f"desk-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "password": PASSWORD, "role": "agent", "capacity": 3}
    if display_name:
        body["display_name"] = display_name
    made = client.post("/api/v1/console/agents", json=body, headers=admin)
    assert made.status_code == 201, made.text
    headers = login(client, name)
    assert client.post("/api/v1/console/duty", json={"minutes": 60}, headers=headers).status_code == 200
    return made.json(), headers


def served_app_user(client: TestClient, headers: dict, texts: tuple[str, ...], **handoff) -> tuple[str, str]:
    """An app citizen who said `texts`, queued for a person and grabbed by `headers`' agent."""
    user = f"u-{uuid.uuid4().hex[:10]}"
    conversation_id = client.get("/api/v1/app/messages", params={"user_id": user}).json()["conversation_id"]
    for text in texts:
        client.post("/api/v1/app/messages", json={"user_id": user, "text": text})
    key = services_of(client.app).get(Settings).bot_api_key.get_secret_value()
    queued = client.post("/api/v1/handoff", json={"conversation_id": conversation_id, "reason": "citizen_request",
                                                  **handoff}, headers={"X-Bot-Key": key})
    assert queued.status_code == 200, queued.text
    assert client.post(f"/api/v1/console/conversations/{conversation_id}/claim", headers=headers).status_code == 200
    return user, conversation_id


def test_a_new_account_is_never_shown_by_its_login_name(app_client, admin) -> None:
    made, _ = agent_on_duty(app_client, admin)
    assert made["display_name"] == f"客服 {made['id']:04d}" and made["display_name"] != made["username"]
    named, headers = agent_on_duty(app_client, admin, "客服 0123 王")
    assert named["display_name"] == "客服 0123 王"
    user, conversation_id = served_app_user(app_client, headers, ("公积金贷款利率是多少", "转人工"))
    said = app_client.get("/api/v1/app/messages", params={"user_id": user}).json()["messages"]
    assert any("客服 0123 王" in m["text"] for m in said if m["author"] == "system")  # the claim message
    assert named["username"] not in str(said)
    renamed = app_client.patch(f"/api/v1/console/agents/{made['id']}", json={"display_name": "客服 0777 李"},
                               headers=admin)
    assert renamed.status_code == 200 and renamed.json()["display_name"] == "客服 0777 李"


def test_notes_stay_between_agents(app_client, admin) -> None:
    _, holder = agent_on_duty(app_client, admin, "客服 0201 周")
    _, other = agent_on_duty(app_client, admin, "客服 0202 吴")
    user, conversation_id = served_app_user(app_client, holder, ("提取公积金要什么材料", "人工客服"))
    note = "市民情绪激动，已核实身份证号，勿在回复中重复"
    path = f"/api/v1/console/conversations/{conversation_id}/notes"
    added = app_client.post(path, json={"text": note}, headers=holder)
    assert added.status_code == 201, added.text
    assert added.json()["author"] == "客服 0201 周"
    assert app_client.get(path, headers=holder).json()["notes"][0]["text"] == note
    # Another agent who does not hold it neither reads nor writes; blank notes get a clear error.
    assert app_client.get(path, headers=other).json()["code"] == "not_your_conversation"
    assert app_client.post(path, json={"text": "x"}, headers=other).status_code == 403
    blank = app_client.post(path, json={"text": "  "}, headers=holder)
    assert blank.status_code == 422 and blank.json()["code"] == "empty_message"
    assert app_client.post(path, json={"text": "x", "to": "citizen"}, headers=holder).status_code == 422
    # The citizen's channel: the app's messages, and the packet's transcript, hold no note.
    app_client.post(f"/api/v1/console/conversations/{conversation_id}/messages", json={"text": "您好"}, headers=holder)
    seen = app_client.get("/api/v1/app/messages", params={"user_id": user}).json()
    assert note not in str(seen) and any(m["text"] == "您好" for m in seen["messages"])
    packet = app_client.get(f"/api/v1/console/conversations/{conversation_id}", headers=holder).json()
    assert note not in str(packet["transcript"])
    # A transfer hands the notes on with the conversation.
    other_id = app_client.get("/api/v1/console/me", headers=other).json()["agent"]["id"]
    moved = app_client.post(f"/api/v1/console/conversations/{conversation_id}/transfer",
                            json={"to_agent_id": other_id}, headers=holder)
    assert moved.status_code == 200, moved.text
    assert app_client.get(path, headers=other).json()["notes"][0]["text"] == note


def test_the_packet_reads_in_words_and_suggests_from_the_real_question(app_client, admin) -> None:
    _, headers = agent_on_duty(app_client, admin)
    _, conversation_id = served_app_user(
        app_client, headers, ("公积金贷款最多能贷多少", "转人工"), intent="ask_loan",
        slots={"loan_principal": 600000, "loan_years": 20, "repay_method": "equal_installment", "failed_turns": 1},
    )
    packet = app_client.get(f"/api/v1/console/conversations/{conversation_id}", headers=headers).json()
    glance = packet["glance"]
    assert glance["question"] == "公积金贷款最多能贷多少"
    assert glance["need"] == "公积金贷款"
    assert glance["facts"] == [{"label": "想贷金额", "value": "60 万元"}, {"label": "贷款年限", "value": "20 年"},
                               {"label": "还款方式", "value": "等额本息"}]
    assert glance["citizen"] == "App 用户"
    # The inbox's preview is that question too, not the "转人工" that came after it.
    mine = app_client.get("/api/v1/console/conversations", headers=headers).json()["conversations"]
    assert next(c for c in mine if c["conversation_id"] == conversation_id)["preview"] == "公积金贷款最多能贷多少"
    found = app_client.get("/api/v1/console/suggestions", params={"conversation_id": conversation_id},
                           headers=headers).json()
    assert found["question"] == "公积金贷款最多能贷多少"
    both = app_client.get("/api/v1/console/suggestions", params={"q": "x", "conversation_id": conversation_id},
                          headers=headers)
    assert both.status_code == 422 and both.json()["code"] == "question_required"


def test_words_for_codes() -> None:
    assert real_question(["我想问租房提取", "转人工", "人工客服", "/ask_human", "5"]) == "我想问租房提取"
    assert real_question(["转人工"]) is None
    assert need_label("nlu_fallback", {}, None) == "机器人未能理解"
    assert need_label("ask_human", {}, None) is None
    assert citizen_label([{"kind": "phone", "value": "+8613812341234"}, {"kind": "wechat", "value": "oABC"}]) == (
        "电话 138****1234、微信用户")
    assert citizen_label([{"kind": "web", "value": "f" * 32}]) == "网页访客"


def test_typing_is_told_both_ways(app_client, admin) -> None:
    _, headers = agent_on_duty(app_client, admin, "客服 0301 郑")
    user, conversation_id = served_app_user(app_client, headers, ("还款方式怎么改", "转人工"))
    after = max(m["id"] for m in app_client.get("/api/v1/app/messages", params={"user_id": user}).json()["messages"])
    with app_client.websocket_connect("/ws/console", headers=headers) as socket:
        assert socket.receive_json()["type"] == "hello"
        assert app_client.post("/api/v1/app/typing", json={"user_id": user}).json() == {"ok": True}
        frame = socket.receive_json()
        while frame["type"] != "citizen_typing":
            frame = socket.receive_json()
        assert frame == {"type": "citizen_typing", "conversation_id": conversation_id}
        # The app's long poll returns early while the agent types, with their display name.
        polled: dict = {}
        poll = threading.Thread(target=lambda: polled.update(app_client.get(
            "/api/v1/app/messages", params={"user_id": user, "after": after, "wait": 10}).json()))
        poll.start()
        for _ in range(40):  # until the poll is waiting (each typing frame is passed on at most every 2 s)
            socket.send_json({"type": "typing", "conversation_id": conversation_id})
            poll.join(timeout=0.25)
            if not poll.is_alive():
                break
        poll.join(timeout=15)
        assert polled["agent_typing"] == "客服 0301 郑" and polled["messages"] == []
