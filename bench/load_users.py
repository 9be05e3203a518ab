"""Who the load test plays (run by Locust from bench/load.py, in .venv-load): citizens on the app, on
WeChat (signed plain-mode XML) and on the web page (its WebSocket), and agents who go on duty, grab
waiting conversations, reply and finish. Every request is named by its route, so the figures come per
endpoint. A lost grab (409) is part of the game, not an error.

Settings come from the environment bench/load.py sets: HPF_LOAD_APP_KEY, HPF_LOAD_WECHAT_TOKEN,
HPF_LOAD_AGENTS (comma-separated logins, password HPF_LOAD_AGENT_PASSWORD).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import time
import uuid

import websocket
from locust import HttpUser, User, between, constant, events, task

# Our own wordings (not the real-wording evaluation set), most about the common businesses.
QUESTIONS = ["租房提取公积金要带什么", "公积金贷款最多能贷多少", "离职以后公积金怎么处理", "公积金贷款利率现在是多少",
             "怎么查我的公积金余额", "异地转移公积金怎么办", "提前还款有什么要求", "公积金每年什么时候调整基数",
             "装修房子能提取公积金吗", "退休了怎么提取公积金", "二套房公积金贷款首付多少", "公积金怎么办理销户"]
PERSON = "我想找人工客服"
QUEUED_WORDS = ("正在为您转接", "队列中")  # the queue's message (agent_console/handoff.py), not a callback
QUEUE_WAIT_S = 60
# Saturation runs (HPF_LOAD_NO_WAIT): every user asks again at once, to find the most the system serves.
PAUSE = constant(0) if os.environ.get("HPF_LOAD_NO_WAIT") else between(3, 8)
AGENTS = itertools.cycle([a for a in os.environ.get("HPF_LOAD_AGENTS", "").split(",") if a])


def questions_per_citizen() -> int:
    """How many questions one citizen asks before another takes their place. Real conversations are
    short; one citizen asking every few seconds for 30 minutes would grow one tracker without end."""
    return random.randint(5, 20)


def question() -> str:
    return PERSON if random.random() < 0.05 else random.choice(QUESTIONS)


class AppCitizen(HttpUser):
    weight = 5
    wait_time = PAUSE

    def on_start(self) -> None:
        self.headers = {"X-Api-Key": os.environ["HPF_LOAD_APP_KEY"]}
        self.asked, self.questions = 0, 0

    @task
    def ask(self) -> None:
        if self.asked >= self.questions:  # the next citizen on this user's phone
            self.user_id, self.after = f"load-{uuid.uuid4().hex[:10]}", 0
            self.asked, self.questions = 0, questions_per_citizen()
        self.asked += 1
        body = {"user_id": self.user_id, "text": question(), "client_msg_id": uuid.uuid4().hex}
        with self.client.post("/api/v1/app/messages", json=body, headers=self.headers, catch_response=True,
                              name="POST /api/v1/app/messages") as response:
            if response.status_code == 200:
                self.after = max(self.after, response.json()["message_id"])
        self.client.get("/api/v1/app/messages", params={"user_id": self.user_id, "after": self.after},
                        headers=self.headers, name="GET /api/v1/app/messages")


class WeChatCitizen(HttpUser):
    weight = 3
    wait_time = PAUSE

    def on_start(self) -> None:
        self.token = os.environ["HPF_LOAD_WECHAT_TOKEN"]
        self.asked, self.questions = 0, 0

    @task
    def ask(self) -> None:
        if self.asked >= self.questions:
            self.openid = f"o{uuid.uuid4().hex[:27]}"
            self.asked, self.questions = 0, questions_per_citizen()
        self.asked += 1
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        signature = hashlib.sha1("".join(sorted([self.token, timestamp, nonce])).encode()).hexdigest()
        msg_id = random.randrange(10**15, 10**16)
        xml = (f"<xml><ToUserName><![CDATA[gh_hpf]]></ToUserName><FromUserName><![CDATA[{self.openid}]]>"
               f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[{question()}]]></Content><MsgId>{msg_id}</MsgId></xml>")
        self.client.post("/wechat", params={"signature": signature, "timestamp": timestamp, "nonce": nonce,
                                            "openid": self.openid}, data=xml.encode(),
                         headers={"Content-Type": "application/xml"}, name="POST /wechat")


class WebCitizen(User):
    """The chat page's socket: send a question, wait for the bot's answer to it. A citizen who asked for
    a person and was queued waits for the agent to join instead of asking the bot again: in the queue
    the bot is silent by design (the queue message says the agent will read what is written meanwhile)."""

    weight = 2
    wait_time = PAUSE

    def on_start(self) -> None:
        self.ws_url = self.host.rstrip("/").replace("http", "ws", 1) + "/ws/chat"
        self.asked, self.questions = 0, 0
        self.queued = False

    @task
    def ask(self) -> None:
        if self.asked >= self.questions and not self.queued:  # a new visitor opens the page
            session = json.loads(_post(f"{self.host.rstrip('/')}/api/v1/web/session", {}))
            self.token = session["visitor_token"]
            self.after = 0  # the newest message this page has shown: a new socket replays what came since
            self.asked, self.questions = 0, questions_per_citizen()
        self.asked += 1
        started = time.perf_counter()
        name = "WS /ws/chat (queued → agent joins)" if self.queued else "WS /ws/chat (question → answer)"
        error: Exception | None = None
        try:
            socket = websocket.create_connection(f"{self.ws_url}?token={self.token}&after={self.after}",
                                                 timeout=QUEUE_WAIT_S if self.queued else 15)
            try:
                if self.queued:
                    self._await_agent(socket)
                else:
                    self._ask_bot(socket)
            finally:
                socket.close()
        except Exception as exc:  # noqa: BLE001  (reported to Locust as this request's failure)
            error = exc
        events.request.fire(request_type="WS", name=name, response_time=(time.perf_counter() - started) * 1000,
                            response_length=0, exception=error, context={})

    def _ask_bot(self, socket: websocket.WebSocket) -> None:
        self._seen(json.loads(socket.recv())["history"])  # hello
        text = question()
        socket.send(json.dumps({"type": "message", "text": text, "client_msg_id": uuid.uuid4().hex}))
        while True:
            frame = json.loads(socket.recv())
            if frame.get("type") == "error":
                raise RuntimeError(frame.get("code"))
            message = frame.get("message") or {}
            if frame.get("type") == "message":
                self._seen([message])
                if message.get("direction") == "out":
                    self.queued = text == PERSON and any(w in message.get("text", "") for w in QUEUED_WORDS)
                    return

    def _await_agent(self, socket: websocket.WebSocket) -> None:
        history = json.loads(socket.recv())["history"]  # hello: the agent may have joined already
        self._seen(history)
        while not any(m.get("author") == "agent" for m in history):
            frame = json.loads(socket.recv())
            history = [frame["message"]] if frame.get("type") == "message" else []
            self._seen(history)
        self.queued = False

    def _seen(self, messages: list[dict]) -> None:
        self.after = max([self.after, *(m["id"] for m in messages)])


class Agent(HttpUser):
    weight = 1
    fixed_count = 4
    wait_time = between(2, 4)

    def on_start(self) -> None:
        login = self.client.post("/api/v1/console/login", name="POST /api/v1/console/login", json={
            "username": next(AGENTS), "password": os.environ["HPF_LOAD_AGENT_PASSWORD"]}).json()
        self.client.headers["Authorization"] = f"Bearer {login['token']}"
        self.client.post("/api/v1/console/duty", json={"minutes": 600}, name="POST /api/v1/console/duty")

    @task
    def serve(self) -> None:
        """As an agent at the console: any waiting conversation, not always the first (four agents
        racing for the same one would serve one at a time); a lost grab is the race, try another."""
        pool = self.client.get("/api/v1/console/pool", name="GET /api/v1/console/pool").json()
        waiting = pool.get("waiting", [])
        for item in random.sample(waiting, min(3, len(waiting))):
            conversation = item["conversation_id"]
            with self.client.post(f"/api/v1/console/conversations/{conversation}/claim", catch_response=True,
                                  name="POST /api/v1/console/conversations/{id}/claim") as grab:
                if grab.status_code == 409:
                    grab.success()  # another agent was faster: the race the pool is built for
                    continue
            self.client.get(f"/api/v1/console/conversations/{conversation}",
                            name="GET /api/v1/console/conversations/{id}")
            self.client.post(f"/api/v1/console/conversations/{conversation}/messages",
                             json={"text": "您好，我来帮您看看。"},
                             name="POST /api/v1/console/conversations/{id}/messages")
            self.client.post(f"/api/v1/console/conversations/{conversation}/finish",
                             name="POST /api/v1/console/conversations/{id}/finish")
            return


def _post(url: str, body: dict) -> str:
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.read().decode()
