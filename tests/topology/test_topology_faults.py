"""Faults survived on the production topology (two service instances and two Rasa servers behind nginx,
PostgreSQL and Redis of their own): a service instance killed with -9 while citizens chat on the app
(and keep retrying with the same message ids, as the app does) and on the web page; a Rasa server killed
mid-form; Redis and PostgreSQL restarted; every Rasa server stopped. Nothing acknowledged is lost or
doubled, and the service answers throughout (or says clearly that it cannot, for the database)."""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text

from core.settings import normalise_db_url
from server.topology import Topology
from tests.agent_console.helpers import PASSWORD, add_agent_sync

# `browser`: the page test's Playwright keeps an event loop in the main thread, so these run last.
pytestmark = [pytest.mark.rasa, pytest.mark.topology, pytest.mark.browser]


class App:
    """A citizen's app: every message is retried with its id until the service confirms it."""

    def __init__(self, topology: Topology) -> None:
        self.base = topology.base_url
        self.headers = {"X-Api-Key": topology.secrets["APP_API_KEY"]}
        self.user = f"topo-{uuid.uuid4().hex[:8]}"
        self.confirmed: list[str] = []

    def send(self, text: str, deadline_s: float = 120) -> dict:
        client_msg_id = uuid.uuid4().hex
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                response = httpx.post(f"{self.base}/api/v1/app/messages", headers=self.headers, timeout=30,
                                      json={"user_id": self.user, "text": text, "client_msg_id": client_msg_id})
                if response.status_code == 200:
                    self.confirmed.append(client_msg_id)
                    return response.json()
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{text!r} never confirmed"
            time.sleep(0.5)


def stored_ids(topology: Topology) -> Counter:
    engine = create_engine(normalise_db_url(topology.database_url, sync=True))
    try:
        with engine.connect() as conn:
            return Counter(conn.execute(text(
                "SELECT client_msg_id FROM messages WHERE direction = 'in' AND client_msg_id IS NOT NULL")).scalars())
    finally:
        engine.dispose()


def words(reply: dict) -> str:
    return "\n".join(r["text"] for r in reply["replies"])


def test_killing_a_service_instance_loses_and_doubles_nothing(topology: Topology) -> None:
    apps = [App(topology) for _ in range(3)]
    stop = threading.Event()
    failures: list[BaseException] = []

    def chat(app: App) -> None:
        try:
            n = 0
            while not stop.is_set():
                app.send(f"公积金提取需要什么材料（{n}）")
                n += 1
        except BaseException as exc:  # noqa: BLE001  (reported to the test below)
            failures.append(exc)

    threads = [threading.Thread(target=chat, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    try:
        time.sleep(5)
        for name in ("service-1", "service-2"):  # each in turn, so whichever held a request dies once
            topology.kill(name)
            time.sleep(5)
            topology.start_process(name)
            topology.wait_ready(name, 600)
            time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
    assert not failures, failures
    stored = stored_ids(topology)
    for app in apps:
        assert app.confirmed, "every citizen got answers"
        assert all(stored[i] == 1 for i in app.confirmed), "a confirmed message is stored exactly once"


def test_the_web_page_reconnects_through_nginx_after_an_instance_dies(topology: Topology, browser: Browser) -> None:
    context = browser.new_context(base_url=topology.base_url, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto("/")
    page.locator("#input").fill("公积金贷款利率是多少")
    page.locator("#input").press("Enter")
    expect(page.locator(".msg--bot").first).to_be_visible(timeout=60_000)
    answered = page.locator(".msg--bot").count()
    for name in ("service-1", "service-2"):
        topology.kill(name)
        topology.start_process(name)
        topology.wait_ready(name, 600)
    page.locator("#input").fill("租房提取要什么材料")
    page.locator("#input").press("Enter")
    expect(page.locator(".msg--bot")).to_have_count(answered + 1, timeout=90_000)
    assert page.locator(".msg--citizen").count() == 2, "each message shown once, none doubled by the resend"
    context.close()


def test_a_rasa_server_killed_mid_form_and_the_other_continues(topology: Topology) -> None:
    app = App(topology)
    steps = [("我大概能贷多少公积金", "首套"), ("首套", "配偶"), ("不是，就我自己", "工资"), ("八千", "缴存额"),
             ("1600", "余额"), ("5万", "其他贷款"), ("没有", "总价")]
    for n, (said, asked) in enumerate(steps):
        if n == 3:
            topology.kill("rasa-1")  # the form's state is in PostgreSQL: rasa-2 goes on with it
        assert asked in words(app.send(said)), said
    done = words(app.send("80万"))
    assert "万元" in done and "总价" not in done
    topology.start_process("rasa-1")
    topology.wait_ready("rasa-1", 600)


def test_redis_stopped_and_restarted(topology: Topology) -> None:
    app = App(topology)
    topology.kill("redis")
    try:
        started = time.monotonic()
        reply = app.send("公积金怎么提取", deadline_s=30)
        assert reply["replies"] and time.monotonic() - started < 10  # answered (Rasa's locks are in Redis too)
    finally:
        topology.start_process("redis")
    time.sleep(3)
    assert app.send("公积金贷款利率是多少")["replies"]
    assert all(count == 1 for count in stored_ids(topology).values())


def test_postgres_restarted_gives_clear_503s_then_full_recovery(topology: Topology) -> None:
    app = App(topology)
    app.send("公积金怎么提取")
    topology.stop_postgres(mode="immediate")
    try:
        down = httpx.post(f"{topology.base_url}/api/v1/app/messages", headers=app.headers, timeout=30,
                          json={"user_id": app.user, "text": "还在吗", "client_msg_id": uuid.uuid4().hex})
        assert (down.status_code, down.json()["code"]) == (503, "database_unavailable"), down.text
    finally:
        topology.start_postgres()
    assert app.send("公积金贷款利率是多少", deadline_s=120)["replies"]
    assert httpx.get(f"{topology.base_url}/readyz", timeout=10).status_code == 200


def test_every_rasa_server_stopped(topology: Topology) -> None:
    """Last: the topology ends here. Answers come from the knowledge base within 5 s, and a request
    for a person still reaches the pool."""
    agent = f"topo-agent-{uuid.uuid4().hex[:6]}"
    add_agent_sync(topology.database_url, agent, display_name="客服 0100 李")
    login = httpx.post(f"{topology.base_url}/api/v1/console/login", json={"username": agent, "password": PASSWORD},
                       timeout=30).json()
    on_duty = httpx.post(f"{topology.base_url}/api/v1/console/duty", json={"minutes": 30}, timeout=30,
                         headers={"Authorization": f"Bearer {login['token']}"})
    assert on_duty.status_code == 200 and on_duty.json()["state"] == "on_duty", on_duty.text
    topology.kill("rasa-1")
    topology.kill("rasa-2")
    app = App(topology)
    started = time.monotonic()
    answer = app.send("公积金提取需要什么材料", deadline_s=30)
    assert time.monotonic() - started < 5 and answer["replies"]
    person = app.send("我想跟人工聊", deadline_s=30)
    engine = create_engine(normalise_db_url(topology.database_url, sync=True))
    try:
        with engine.connect() as conn:
            state = conn.execute(text("SELECT state FROM handoffs WHERE conversation_id = :c ORDER BY id DESC"),
                                 {"c": person["conversation_id"]}).scalar()
    finally:
        engine.dispose()
    assert state == "waiting", words(person)
