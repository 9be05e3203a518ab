"""What staff keep to themselves never reaches a citizen: the bot's explanation of its decision (scores,
rules, the article's source with its editorial marks) is stored with the reply for the console, and left
out of the app's history and of the web page's socket (its history and its live messages)."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from conversations.hub import Hub
from core.settings import Settings
from server.app import create_app
from server.stack import free_port
from tests.corpus import write_seed


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("staff-only")
    nowhere = f"http://127.0.0.1:{free_port()}"  # Rasa away: the knowledge base answers, with its explanation
    settings = Settings(data_dir=root, index_dir=root / "index", knowledge_dir=write_seed(root / "seed"),
                        rasa_url=nowhere, action_server_url=nowhere)
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_explanation_stays_on_the_staff_side(client):
    deadline = time.monotonic() + 120
    while client.get("/readyz").status_code != 200:  # the index answers, with its explanation
        assert time.monotonic() < deadline
        time.sleep(0.5)
    hub = client.app.state.services.get(Hub)
    token = client.post("/api/v1/app/session", json={}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    sent = client.post("/api/v1/app/messages", headers=headers,
                       json={"text": "租房提取公积金要什么材料", "client_msg_id": uuid.uuid4().hex}).json()
    stored = client.portal.call(hub.history, sent["conversation_id"])
    assert any("explain" in (m.payload or {}) for m in stored)  # kept for the console
    history = client.get("/api/v1/app/messages", headers=headers).json()["messages"]
    assert history and all("explain" not in m["payload"] for m in history)

    visitor = client.post("/api/v1/web/session", json={}).json()["visitor_token"]
    with client.websocket_connect(f"/ws/chat?token={visitor}") as socket:
        assert socket.receive_json()["type"] == "hello"
        socket.send_text(json.dumps({"type": "message", "text": "租房提取公积金要什么材料", "client_msg_id": "w1"}))
        frames = []
        while not any(f.get("type") == "message" and f["message"]["direction"] == "out" for f in frames):
            frames.append(socket.receive_json())
    assert all("explain" not in f["message"]["payload"] for f in frames if f.get("type") == "message")
    with client.websocket_connect(f"/ws/chat?token={visitor}") as socket:
        hello = socket.receive_json()
    assert hello["history"] and all("explain" not in m["payload"] for m in hello["history"])
