"""Buttons that mean what they say, through the app API: each message with buttons says whether they are
still the choices in play (`buttons_valid`), and a spent choice replayed is not given to the bot."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.settings import Settings
from fakes.rasa import FakeRasa
from server.app import create_app
from tests.credentials import APP_API_KEY, APP_HEADERS

HOME = {"text": "这次买的是首套房还是第二套房？",
        "buttons": [{"title": "首套房", "payload": "首套"}, {"title": "第二套房", "payload": "二套"}]}
METHOD = {"text": "选哪种还款方式？",
          "buttons": [{"title": "等额本息", "payload": "等额本息"}, {"title": "等额本金", "payload": "等额本金"}]}


@dataclass
class ScriptedRasa(FakeRasa):
    """Scripted custom replies for chosen texts, else the fake's echo."""

    scripts: dict[str, list[dict]] = field(default_factory=dict)

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body["message"] not in self.scripts:
            return await super()._webhook(request)
        self.received.append(body)
        await asyncio.sleep(self.delay)
        return JSONResponse([{"recipient_id": body["sender"], "custom": c} for c in self.scripts[body["message"]]])


@pytest.fixture(scope="module")
def rasa():
    with ScriptedRasa() as fake:
        fake.scripts = {"算月供": [HOME], "首套": [METHOD], "两个都要": [HOME, METHOD]}
        yield fake


@pytest.fixture(scope="module")
def client(rasa, tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("buttons"), rasa_url=rasa.url, bot_timeout_s=1.5,
                        app_api_key=APP_API_KEY)
    with TestClient(create_app(settings), headers=APP_HEADERS) as test_client:
        yield test_client


def say(client, user: str, text: str) -> list[dict]:
    response = client.post("/api/v1/app/messages", json={"user_id": user, "text": text})
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def test_a_reply_with_buttons_says_they_are_valid_and_one_without_says_nothing(client):
    assert say(client, "btn-1", "算月供")[0]["buttons_valid"] is True
    assert say(client, "btn-1", "你好")[0]["buttons_valid"] is None


def test_in_one_turn_only_the_last_message_with_buttons_is_valid(client):
    assert [r["buttons_valid"] for r in say(client, "btn-2", "两个都要")] == [False, True]


def test_history_marks_spent_and_superseded_buttons(client):
    say(client, "btn-3", "算月供")
    say(client, "btn-3", "首套")  # chosen: the home question's buttons are spent; the method's are new
    messages = client.get("/api/v1/app/messages", params={"user_id": "btn-3"}).json()["messages"]
    marked = [(m["text"], m["payload"].get("buttons_valid")) for m in messages if m["author"] != "citizen"]
    assert marked == [(HOME["text"], False), (METHOD["text"], True)]


def test_a_spent_choice_replayed_gets_the_current_choices_and_never_reaches_the_bot(client, rasa):
    say(client, "btn-4", "算月供")
    say(client, "btn-4", "首套")
    asked = len(rasa.received)
    replies = say(client, "btn-4", "二套")  # the home question's other button, tapped late
    assert len(rasa.received) == asked
    assert "这个选项已过期" in replies[0]["text"]
    assert [b["payload"] for b in replies[0]["buttons"]] == ["等额本息", "等额本金"]
    assert replies[0]["buttons_valid"] is True


def test_a_choice_in_play_and_the_citizens_own_words_go_to_the_bot(client, rasa):
    say(client, "btn-5", "算月供")
    say(client, "btn-5", "首套")
    asked = len(rasa.received)
    say(client, "btn-5", "等额本金")  # a current choice
    say(client, "btn-5", "公积金怎么提取")  # a question, whatever was offered before
    assert len(rasa.received) == asked + 2
