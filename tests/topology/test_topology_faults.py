"""Faults survived on the production topology (two service instances and two Rasa servers behind nginx,
PostgreSQL and Redis of their own): a service instance killed with -9 while citizens chat on the app
(and keep retrying with the same message ids, as the app does), on WeChat (which retries as WeChat does)
and on the web page, while it holds an app's long-poll and after it answered a WeChat message whose
answer never reached WeChat (the retry lands on the other instance); a Rasa server killed mid-form;
Redis and PostgreSQL restarted; every Rasa server stopped. Nothing acknowledged is lost or doubled, and
the service answers throughout (or says clearly that it cannot, for the database)."""
from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial

import httpx
import pytest
import redis
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text
from wechatpy import parse_message

from channels.wechat.inbound import client_msg_id
from conversations.hub import conversation_topic
from core.settings import normalise_db_url
from fakes import wechat as wx
from fakes.wechat import FakeWeChat
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


class WeChatCitizen:
    """A follower of the account: WeChat posts each message to /wechat through nginx (signed plain-mode XML),
    waits 5 s for the answer and sends it again, three times in all (fakes/wechat.py)."""

    def __init__(self, topology: Topology, wechat: FakeWeChat) -> None:
        self.url = f"{topology.base_url}/wechat"
        self.wechat = wechat
        self.openid = f"o{uuid.uuid4().hex[:27]}"
        self.confirmed: list[str] = []  # the stored ids of the messages WeChat got a 200 for

    def send(self, text: str) -> None:
        """In a thread of its own (WeChat's side runs an event loop per message)."""
        fields = wx.text(self.openid, text)
        if any(attempt.status == 200 for attempt in self.wechat.post(self.url, fields).attempts):
            self.confirmed.append(stored_id(fields))

    def attempt(self, url: str, fields: dict) -> httpx.Response:
        """One of WeChat's attempts at a message, by hand: freshly signed, as each attempt is."""
        self.wechat.age(self.openid, 0)  # WeChat has just heard from the citizen: answers may be pushed
        params, body = self.wechat.signed(fields)
        return httpx.post(url, params=params, content=body, headers={"Content-Type": "text/xml"}, timeout=60)

    def answered_by(self, url: str) -> tuple[dict, str]:
        """WeChat's first attempt at a message, answered by the instance at `url`, whose reply to the request
        is then lost on its way back: WeChat sends the message again. Returns the message and that reply: a
        passive answer, or `success` (once the answer, late for WeChat's deadline, was pushed)."""
        fields = wx.text(self.openid, "公积金贷款利率是多少")
        first = self.attempt(f"{url}/wechat", fields)
        assert first.status_code == 200, first.text
        if first.text == "success":
            self.wechat.wait_for(self.openid, 1, timeout=90)
            time.sleep(1)  # a long answer is pushed in parts
        return fields, first.text

    def retried(self, fields: dict, first: str, topology: Topology) -> None:
        """WeChat's retry through nginx, the instance that answered it gone: answered once, not twice."""
        shown, answers = len(self.wechat.shown(self.openid)), len(replies_to(topology, stored_id(fields)))
        retry = self.attempt(self.url, fields)
        assert retry.status_code == 200, retry.text
        self.confirmed.append(stored_id(fields))
        # The first attempt's passive answer again (WeChat shows this one: the first never arrived), or
        # nothing when the answer was pushed; never a second turn of the bot.
        assert without_time(retry.text) == without_time(first)
        time.sleep(1)
        assert len(self.wechat.shown(self.openid)) == shown, "no second push"
        assert len(replies_to(topology, stored_id(fields))) == answers, "no second answer"


def stored_id(fields: dict) -> str:
    """The id the service stores a WeChat message under (WeChat's retries repeat it)."""
    return client_msg_id(parse_message(wx.to_xml(fields)))


def without_time(reply: str) -> str:
    return re.sub(r"<CreateTime>\d+</CreateTime>", "", reply)


class LongPoll:
    """The app's long-poll for one citizen, as the app runs it: each poll asks for the messages after the
    newest it has (`after`); a poll that fails is asked again with the same cursor, through nginx."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.after = 0
        self.seen: list[int] = []
        self.cut = 0  # held polls that died with their instance
        self.conversation_id = ""

    def poll(self, base: str, wait: int) -> None:
        response = httpx.get(f"{base}/api/v1/app/messages", headers=self.app.headers, timeout=wait + 30,
                             params={"user_id": self.app.user, "after": self.after, "wait": wait})
        response.raise_for_status()
        body = response.json()
        self.conversation_id = body["conversation_id"]
        ids = [m["id"] for m in body["messages"]]
        self.seen += ids
        self.after = max([self.after, *ids])

    def held_at(self, url: str) -> None:
        """Waits at the instance at `url` (itself: through nginx, which instance holds a poll is not ours to
        choose) until that instance dies, then polls through nginx until something new comes."""
        seen, base = len(self.seen), url
        while len(self.seen) == seen:
            try:
                self.poll(base, wait=30)
            except httpx.HTTPError:
                self.cut += base == url
                base = self.app.base
                time.sleep(0.2)

    def wait_held(self, topology: Topology, timeout: float = 30) -> None:
        """Until a poll waits: it has subscribed to the conversation's channel in Redis (the bus's name)."""
        channel = f"hpf:{conversation_topic(self.conversation_id)}"
        deadline = time.monotonic() + timeout
        with redis.Redis.from_url(topology.redis_url) as client:
            while not client.pubsub_numsub(channel)[0][1]:
                assert time.monotonic() < deadline, "the long-poll never waited"
                time.sleep(0.05)


def rows(topology: Topology, statement: str, **params: object) -> list:
    """The first column of a query's rows, on the topology's database."""
    engine = create_engine(normalise_db_url(topology.database_url, sync=True))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(statement), params).scalars())
    finally:
        engine.dispose()


def stored_ids(topology: Topology) -> Counter:
    return Counter(rows(topology, "SELECT client_msg_id FROM messages WHERE direction = 'in' AND client_msg_id IS NOT NULL"))


def replies_to(topology: Topology, stored: str) -> list[int]:
    """What the service said in the conversation of the message stored under `stored`."""
    return rows(topology, "SELECT id FROM messages WHERE direction = 'out' AND conversation_id IN "
                "(SELECT conversation_id FROM messages WHERE client_msg_id = :c)", c=stored)


def words(reply: dict) -> str:
    return "\n".join(r["text"] for r in reply["replies"])


def test_killing_a_service_instance_loses_and_doubles_nothing(topology: Topology, wechat: FakeWeChat) -> None:
    citizens: list[App | WeChatCitizen] = [*(App(topology) for _ in range(3)),
                                           *(WeChatCitizen(topology, wechat) for _ in range(2))]
    reader = LongPoll(App(topology))
    stop = threading.Event()
    failures: list[BaseException] = []

    def reporting(work: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001  (reported to the test below)
                failures.append(exc)
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def chat(citizen: App | WeChatCitizen) -> None:
        n = 0
        while not stop.is_set():
            citizen.send(f"公积金提取需要什么材料（{n}）")
            n += 1

    threads = [reporting(partial(chat, citizen)) for citizen in citizens]
    try:
        time.sleep(5)
        for name in ("service-1", "service-2"):  # each in turn, so whichever held a request dies once
            retried = WeChatCitizen(topology, wechat)
            citizens.append(retried)
            lost = retried.answered_by(topology.url_of(name))
            reader.poll(topology.base_url, wait=0)  # up to date, so that the next poll waits
            held = reporting(partial(reader.held_at, topology.url_of(name)))
            reader.wait_held(topology)
            topology.kill(name)
            down_until = time.monotonic() + 5
            retried.retried(*lost, topology)
            reader.app.send("公积金贷款利率是多少")  # while the long-poll is down: its next poll must get it
            held.join(timeout=120)
            time.sleep(max(down_until - time.monotonic(), 0))
            topology.start_process(name)
            topology.wait_ready(name, 600)
            time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
        for name in ("service-1", "service-2"):  # a failure above leaves the next tests both instances
            if topology.processes[name].poll() is not None:
                topology.start_process(name)
                topology.wait_ready(name, 600)
    assert not failures, failures
    assert reader.cut == 2, "each instance died holding the long-poll"
    reader.poll(topology.base_url, wait=0)  # the last replies, if they came after its last poll
    assert reader.seen == rows(topology, "SELECT id FROM messages WHERE conversation_id = :c ORDER BY id",
                               c=reader.conversation_id), "the long-poll got every message once, in order"
    stored = stored_ids(topology)
    for citizen in [*citizens, reader.app]:
        assert citizen.confirmed, "every citizen got answers"
        assert all(stored[i] == 1 for i in citizen.confirmed), "a confirmed message is stored exactly once"


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
    states = rows(topology, "SELECT state FROM handoffs WHERE conversation_id = :c ORDER BY id DESC",
                  c=person["conversation_id"])
    assert states[:1] == ["waiting"], words(person)
