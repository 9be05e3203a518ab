"""A request for a person reaches the pool even when Rasa is down: the hub's own fallback recognises a
plain "转人工" and asks through the handoff contract, replying as the bot would (queue or callback);
a policy question still gets the knowledge base, and with Rasa up the bot decides as before."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial

import pytest
from fastapi.testclient import TestClient

from agent_console.citizen_replies import CitizenReplies
from agent_console.context import Console
from agent_console.handoff import request_handoff
from conversations.asking import asks_for_person
from conversations.bot_client import RasaClient
from conversations.handoff import Handoffs
from conversations.hub import Hub
from conversations.models import Author, ConversationStatus
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from server.app import create_app
from server.stack import free_port
from staff import passwords
from tests.agent_console.conftest import FAST, app_settings
from tests.agent_console.helpers import CHEAP_HASHER, PASSWORD, World
from tests.credentials import APP_HEADERS
from tests.messages import said

NOBODY_LISTENING = f"http://127.0.0.1:{free_port()}"  # Rasa down: connections refused at once


@pytest.mark.parametrize("text", [
    "我想跟人工聊", "转人工", "人工客服", "找客服", "转人工！", "你好，我要人工服务，谢谢", "请帮我转接人工客服",
    "【转人工】", "人工　客服",
])
def test_plain_requests_for_a_person_are_recognised(text: str) -> None:
    assert asks_for_person(text) == "citizen_request"


def test_a_complaint_is_recognised_as_one() -> None:
    assert asks_for_person("我要投诉") == "complaint"
    assert asks_for_person("投诉！") == "complaint"


@pytest.mark.parametrize("text", [
    "人工客服能帮我查贷款额度吗", "我想跟人工聊公积金贷款的事", "租房提取需要带什么材料", "我要投诉单位不给我缴公积金",
    "人工审核要多久", "", "！！！",
])
def test_questions_that_mention_a_person_are_not_requests(text: str) -> None:
    assert asks_for_person(text) is None


async def _world(database_url: str, rasa_url: str, tmp_path, knowledge=None) -> tuple[World, RasaClient, object]:
    engine = make_engine(database_url)
    bus = LocalBus()
    bot = RasaClient(rasa_url, timeout_s=1.0)
    sessions = make_sessionmaker(engine)
    handoffs = Handoffs()
    hub = Hub(sessions, bus, bot, knowledge, "12329", bot_deadline_s=1.0, handoffs=handoffs)
    settings = Settings(data_dir=tmp_path, database_url=database_url, rasa_url=rasa_url, **FAST)
    console = Console(settings=settings, sessions=sessions, bus=bus, hub=hub, bot=bot, knowledge=None)
    hub.register_interceptor(CitizenReplies(console))
    handoffs.register_desk(partial(request_handoff, console))  # as agent_console.startup does
    return World(console=console, hub=hub, bus=bus, rasa=None), bot, engine  # type: ignore[arg-type]


@pytest.fixture
async def down(database_url, tmp_path) -> World:
    world, bot, engine = await _world(database_url, NOBODY_LISTENING, tmp_path)
    yield world
    await bot.close()
    await engine.dispose()


@pytest.fixture
async def up(database_url, rasa, tmp_path) -> World:
    rasa.received.clear()
    world, bot, engine = await _world(database_url, rasa.url, tmp_path)
    world.rasa = rasa
    yield world
    await bot.close()
    await engine.dispose()


@pytest.mark.parametrize("channel", ["app", "wechat", "web"])
async def test_with_rasa_down_a_request_for_a_person_is_queued(down: World, channel: str) -> None:
    await down.agent("a1")
    conversation = await down.hub.open_conversation(channel=channel, kind=channel, value="citizen-1")
    turn = await down.hub.receive(conversation, said(conversation, "我想跟人工聊"))
    assert turn.message.id is not None and turn.message.author == Author.CITIZEN  # stored first
    (reply,) = turn.replies
    assert reply.meta == {"fallback": "handoff", "handoff": "queued"}
    assert "正在为您转接人工客服" in reply.text and "您是下一位" in reply.text, reply.text
    assert reply.buttons == [{"title": "不等了，留言", "payload": "留言"}]
    assert await down.status(conversation.id) == ConversationStatus.WAITING
    history = await down.hub.history(conversation.id)
    assert [(m.author, m.text) for m in history] == [(Author.CITIZEN, "我想跟人工聊"), (Author.BOT, reply.text)]


async def test_with_rasa_down_and_nobody_on_duty_a_callback_ticket_is_made(down: World) -> None:
    conversation = await down.hub.open_conversation(channel="app", kind="app", value="citizen-2")
    turn = await down.hub.receive(conversation, said(conversation, "我要投诉"))
    (reply,) = turn.replies
    assert reply.meta == {"fallback": "handoff", "handoff": "callback"}
    assert reply.text.startswith("很抱歉给您带来了不好的体验。") and "目前没有人工客服在线" in reply.text
    assert reply.buttons == []
    assert await down.status(conversation.id) == ConversationStatus.BOT


async def test_with_rasa_down_asking_again_while_waiting_is_handled_by_the_queue(down: World) -> None:
    await down.agent("a2")
    conversation = await down.hub.open_conversation(channel="app", kind="app", value="citizen-3")
    await down.hub.receive(conversation, said(conversation, "转人工"))
    again = await down.hub.receive(conversation, said(conversation, "转人工"))
    assert all(r.meta.get("fallback") != "knowledge" for r in again.replies)
    assert await down.status(conversation.id) == ConversationStatus.WAITING


async def test_with_rasa_down_an_unknown_question_is_not_a_handoff(down: World) -> None:
    await down.agent("a3")
    conversation = await down.hub.open_conversation(channel="app", kind="app", value="citizen-4")
    turn = await down.hub.receive(conversation, said(conversation, "人工客服能帮我查贷款额度吗"))
    (reply,) = turn.replies
    assert reply.meta["fallback"] == "unavailable"  # no knowledge base in this world: the honest apology
    assert await down.status(conversation.id) == ConversationStatus.BOT


async def test_with_rasa_up_the_bot_decides(up: World) -> None:
    await up.agent("a4")
    conversation = await up.hub.open_conversation(channel="app", kind="app", value="citizen-5")
    turn = await up.hub.receive(conversation, said(conversation, "我想跟人工聊"))
    assert [r.text for r in turn.replies] == ["收到：我想跟人工聊"]
    assert up.rasa.received[-1]["message"] == "我想跟人工聊"
    assert await up.status(conversation.id) == ConversationStatus.BOT


async def test_without_a_desk_the_knowledge_fallback_answers(database_url, tmp_path) -> None:
    engine = make_engine(database_url)
    bot = RasaClient(NOBODY_LISTENING, timeout_s=1.0)
    hub = Hub(make_sessionmaker(engine), LocalBus(), bot, None, "12329", bot_deadline_s=1.0, handoffs=Handoffs())
    try:
        conversation = await hub.open_conversation(channel="app", kind="app", value="citizen-6")
        (reply,) = (await hub.receive(conversation, said(conversation, "转人工"))).replies
        assert reply.meta["fallback"] == "unavailable" and "12329" in reply.text
    finally:
        await bot.close()
        await engine.dispose()


# -- the whole service, Rasa unreachable -------------------------------------------------------------

@pytest.fixture(scope="module")
def down_client(tmp_path_factory, console_index_dir) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", CHEAP_HASHER)
        settings = app_settings(tmp_path_factory.mktemp("console-down"), console_index_dir, NOBODY_LISTENING)
        with TestClient(create_app(settings), headers=APP_HEADERS) as client:
            yield client


def _agent_on_duty(client: TestClient) -> dict:
    admin = client.post("/api/v1/console/login", json={"username": "admin", "password": "admin-pass-1"}).json()
    name = f"agent-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "password": PASSWORD, "role": "agent", "capacity": 3}
    made = client.post("/api/v1/console/agents", json=body, headers={"Authorization": f"Bearer {admin['token']}"})
    assert made.status_code == 201, made.text
    token = client.post("/api/v1/console/login", json={"username": name, "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/console/duty", json={"minutes": 60}, headers=headers).status_code == 200
    return headers


def test_app_api_with_rasa_down_queues_a_request_for_a_person(down_client: TestClient) -> None:
    agent = _agent_on_duty(down_client)
    user = f"u-{uuid.uuid4().hex[:10]}"
    conversation_id = down_client.get("/api/v1/app/messages", params={"user_id": user}).json()["conversation_id"]
    response = down_client.post("/api/v1/app/messages", json={"user_id": user, "text": "我想跟人工聊"})
    assert response.status_code == 200, response.text
    (reply,) = response.json()["replies"]
    assert "正在为您转接人工客服" in reply["text"] and reply["buttons"] == [{"title": "不等了，留言", "payload": "留言"}]
    pool = down_client.get("/api/v1/console/pool", headers=agent).json()
    assert conversation_id in [w["conversation_id"] for w in pool["waiting"]]

    question = down_client.post("/api/v1/app/messages", json={"user_id": f"u-{uuid.uuid4().hex[:10]}",
                                                               "text": "租房提取需要带什么材料"})
    (answer,) = question.json()["replies"]
    assert answer["text"].startswith("智能助手暂时繁忙，先为您找到知识库中的相关内容"), answer["text"]
    assert answer["sources"], "the knowledge base's answer names its source"
