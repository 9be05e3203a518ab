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
# Saturation runs (HPF_LOAD_NO_WAIT): every user asks again at once, to find the most the system serves.
PAUSE = constant(0) if os.environ.get("HPF_LOAD_NO_WAIT") else between(3, 8)
AGENTS = itertools.cycle([a for a in os.environ.get("HPF_LOAD_AGENTS", "").split(",") if a])


def question() -> str:
    return PERSON if random.random() < 0.05 else random.choice(QUESTIONS)


class AppCitizen(HttpUser):
    weight = 5
    wait_time = PAUSE

    def on_start(self) -> None:
        self.user_id = f"load-{uuid.uuid4().hex[:10]}"
        self.headers = {"X-Api-Key": os.environ["HPF_LOAD_APP_KEY"]}
        self.after = 0

    @task
    def ask(self) -> None:
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
        self.openid = f"o{uuid.uuid4().hex[:27]}"
        self.token = os.environ["HPF_LOAD_WECHAT_TOKEN"]

    @task
    def ask(self) -> None:
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
    """The chat page's socket: send a question, wait for the bot's answer to it."""

    weight = 2
    wait_time = PAUSE

    def on_start(self) -> None:
        host = self.host.rstrip("/")
        self.ws_url = host.replace("http", "ws", 1) + "/ws/chat"
        session = json.loads(_post(f"{host}/api/v1/web/session", {}))
        self.token = session["visitor_token"] if "visitor_token" in session else session["token"]

    @task
    def ask(self) -> None:
        started = time.perf_counter()
        error: Exception | None = None
        try:
            socket = websocket.create_connection(f"{self.ws_url}?token={self.token}&after=999999999", timeout=15)
            try:
                json.loads(socket.recv())  # hello
                sent = uuid.uuid4().hex
                socket.send(json.dumps({"type": "message", "text": question(), "client_msg_id": sent}))
                while True:
                    frame = json.loads(socket.recv())
                    message = frame.get("message") or {}
                    if frame.get("type") == "message" and message.get("direction") == "out":
                        break
                    if frame.get("type") == "error":
                        raise RuntimeError(frame.get("code"))
            finally:
                socket.close()
        except Exception as exc:  # noqa: BLE001  (reported to Locust as this request's failure)
            error = exc
        events.request.fire(request_type="WS", name="WS /ws/chat (question → answer)",
                            response_time=(time.perf_counter() - started) * 1000, response_length=0,
                            exception=error, context={})


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
        pool = self.client.get("/api/v1/console/pool", name="GET /api/v1/console/pool").json()
        for item in pool.get("waiting", [])[:1]:
            conversation = item["conversation_id"]
            with self.client.post(f"/api/v1/console/conversations/{conversation}/claim", catch_response=True,
                                  name="POST /api/v1/console/conversations/{id}/claim") as grab:
                if grab.status_code == 409:
                    grab.success()  # another agent was faster: the race the pool is built for
                    return
            self.client.get(f"/api/v1/console/conversations/{conversation}",
                            name="GET /api/v1/console/conversations/{id}")
            self.client.post(f"/api/v1/console/conversations/{conversation}/messages",
                             json={"text": "您好，我来帮您看看。"},
                             name="POST /api/v1/console/conversations/{id}/messages")
            self.client.post(f"/api/v1/console/conversations/{conversation}/finish",
                             name="POST /api/v1/console/conversations/{id}/finish")


def _post(url: str, body: dict) -> str:
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.read().decode()
