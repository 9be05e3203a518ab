"""WeChat's side of an Official Account, on 127.0.0.1, for tests and benchmarks.

Platform side: `FakeWeChat.send()` posts a citizen's message to the account's server address the
way WeChat does — signed with the token; encrypted (safe mode) or doubled (compatible mode) with
wechatpy's crypto; a fresh timestamp, nonce and signature on each attempt; the connection dropped
after `reply_timeout_s` (WeChat: 5 s) and the message sent again, `attempts` times in all. What the
citizen would see (passive replies, customer-service messages, WeChat's "service unavailable") is
kept per openid in `inbox`.

API side: an HTTP server playing WeChat's API with its real error codes: access token
(`/cgi-bin/token`; a new token leaves the old one valid for 5 more minutes), customer-service
messages (48-hour window: 45015), template messages (40037, 43004), menu creation (400xx),
web-authorisation code exchange (40029, 40163) and the authorise page (it logs in `browser_openid`).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import xmltodict
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from fakes.rasa import ThreadServer
from server.stack import free_port

ACCOUNT = "gh_hpf_fake"             # the account's original id (ToUserName of citizens' messages)
WINDOW_S = 48 * 3600                 # customer-service messages only within 48 h of the citizen's last message
OLD_TOKEN_GRACE_S = 300              # a replaced token stays valid this long
TEXT_LIMIT_BYTES = 2048
UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"

ERRORS = {
    40001: "invalid credential, access_token is invalid or not latest",
    40003: "invalid openid",
    40013: "invalid appid",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40023: "invalid sub button size",
    40025: "invalid sub button name size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    41001: "access_token missing",
    42001: "access_token expired",
    43004: "require subscribe",
    44002: "empty post data",
    45002: "content size out of limit",
    45015: "response out of time limit or subscription is canceled",
    47001: "data format error",
}

_msg_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)


# -- what citizens send ---------------------------------------------------------------------------

def _message(openid: str, msg_type: str, **fields: object) -> dict:
    return {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": msg_type,
            **fields, "MsgId": next(_msg_ids)}


def text(openid: str, content: str) -> dict:
    return _message(openid, "text", Content=content)


def voice(openid: str, recognition: str | None = None) -> dict:
    extra = {"Recognition": recognition} if recognition is not None else {}
    return _message(openid, "voice", MediaId="media-voice", Format="amr", **extra)


def image(openid: str) -> dict:
    return _message(openid, "image", PicUrl="http://mmbiz.example/pic.jpg", MediaId="media-image")


def location(openid: str) -> dict:
    return _message(openid, "location", Location_X="36.6", Location_Y="114.5", Scale="15", Label="邯郸市丛台区")


def link(openid: str) -> dict:
    return _message(openid, "link", Title="一篇文章", Description="摘要", Url="http://mp.example/a")


def video(openid: str, short: bool = False) -> dict:
    return _message(openid, "shortvideo" if short else "video", MediaId="media-video", ThumbMediaId="thumb")


def unknown(openid: str) -> dict:
    return _message(openid, "file", Title="材料.pdf")


def event(openid: str, name: str, key: str | None = None, **extra: object) -> dict:
    fields = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": "event",
              "Event": name, **({"EventKey": key} if key is not None else {}), **extra}
    return fields


def to_xml(fields: dict) -> str:
    body = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()
    )
    return f"<xml>{body}</xml>"


# -- what citizens see ----------------------------------------------------------------------------

@dataclass
class Shown:
    via: str           # passive | custom | error
    msgtype: str       # text | news | error
    content: str       # the text, or the news card's title
    at: float = field(default_factory=time.monotonic)
    extra: dict = field(default_factory=dict)


@dataclass
class Attempt:
    status: int | None  # None: no answer within WeChat's timeout (connection dropped)
    elapsed: float
    body: str = ""


@dataclass
class Delivery:
    attempts: list[Attempt]
    shown: Shown | None  # the passive reply, if one was shown


class FakeWeChat(ThreadServer):
    def __init__(
        self,
        *,
        token: str,
        appid: str,
        secret: str,
        aes_key: str = "",
        reply_timeout_s: float = 5.0,
        attempts: int = 3,
        latency_s: float = 0.0,
    ) -> None:
        self.token, self.appid, self.secret, self.aes_key = token, appid, secret, aes_key
        self.reply_timeout_s = reply_timeout_s  # WeChat drops the connection after this and retries
        self.attempts = attempts
        self.latency_s = latency_s              # network delay of the account's answer on its way back
        self.token_delay_s = 0.0                # how long issuing a token takes (widens refresh races)
        self.port = free_port()
        self.inbox: dict[str, list[Shown]] = {}
        self.last_seen: dict[str, float] = {}
        self.unfollowed: set[str] = set()
        self.templates = {"TPL_REPAYMENT"}
        self.template_sent: list[dict] = []
        self.menu: dict | None = None
        self.browser_openid = ""
        self.calls: list[tuple[str, int]] = []  # (API path, errcode) in order
        self.token_requests = 0
        self._tokens: dict[str, float] = {}
        self._codes: dict[str, tuple[str, bool]] = {}
        self._template_ids = itertools.count(1000)
        self._lock = threading.Lock()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def oauth_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/connect/"

    # -- platform side: posting as WeChat ---------------------------------------------------------

    def post(self, url: str, fields: dict, *, mode: str = "plain", urls: list[str] | None = None) -> Delivery:
        """`send` for synchronous tests."""
        return asyncio.run(self.send(url, fields, mode=mode, urls=urls))

    def post_many(self, url: str, messages: list[dict], *, mode: str = "plain") -> list[Delivery]:
        async def all_at_once() -> list[Delivery]:
            return list(await asyncio.gather(*(self.send(url, m, mode=mode) for m in messages)))

        return asyncio.run(all_at_once())

    async def send(self, url: str, fields: dict, *, mode: str = "plain", urls: list[str] | None = None) -> Delivery:
        """Deliver one message; `urls` spreads the attempts over several service processes (a load
        balancer), in turn. Returns every attempt and what the citizen was shown."""
        openid = fields["FromUserName"]
        with self._lock:
            self.last_seen[openid] = time.time()
            self.unfollowed.discard(openid)
        xml = to_xml(fields)
        attempts: list[Attempt] = []
        # Plain HTTP to 127.0.0.1: no TLS context to build (it costs ~20 ms of CPU per client under load).
        async with httpx.AsyncClient(timeout=None, verify=False, trust_env=False) as client:
            for n in range(self.attempts):
                target = urls[n % len(urls)] if urls else url
                params, body = self._sign(xml, fields, mode)
                started = time.monotonic()
                try:
                    response = await asyncio.wait_for(
                        client.post(target, params=params, content=body, headers={"Content-Type": "text/xml"}),
                        timeout=max(self.reply_timeout_s - self.latency_s, 0.0),
                    )
                except (asyncio.TimeoutError, httpx.TransportError):
                    await asyncio.sleep(max(self.reply_timeout_s - (time.monotonic() - started), 0))
                    attempts.append(Attempt(None, time.monotonic() - started))
                    continue  # WeChat gives up on this connection and sends the message again
                await asyncio.sleep(self.latency_s)
                attempts.append(Attempt(response.status_code, time.monotonic() - started, response.text))
                return Delivery(attempts, self._show_passive(openid, response, encrypted=mode != "plain"))
        return Delivery(attempts, None)

    def signed(self, fields: dict, *, mode: str = "plain", timestamp: int | None = None) -> tuple[dict, str]:
        """The query parameters and body WeChat would post for `fields` (for hand-made requests)."""
        return self._sign(to_xml(fields), fields, mode, timestamp)

    def _sign(self, xml: str, fields: dict, mode: str, at: int | None = None) -> tuple[dict, str]:
        timestamp, nonce = str(at or int(time.time())), secrets.token_hex(5)
        params = {"signature": _signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                  "openid": fields["FromUserName"]}
        if mode == "plain":
            return params, xml
        crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
        sealed = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))
        encrypt = sealed["xml"]["Encrypt"]
        params |= {"encrypt_type": "aes", "msg_signature": _signature(self.token, timestamp, nonce, encrypt)}
        if mode == "safe":
            body = to_xml({"ToUserName": ACCOUNT, "Encrypt": encrypt})
        elif mode == "compatible":  # the plain fields and the ciphertext side by side
            body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        else:
            raise ValueError(mode)
        return params, body

    def _show_passive(self, openid: str, response: httpx.Response, encrypted: bool) -> Shown | None:
        body = response.text
        if response.status_code == 200 and body.strip() in ("", "success"):
            return None
        shown = self._read_reply(openid, body, encrypted) if response.status_code == 200 else None
        shown = shown or Shown("error", "error", UNAVAILABLE, extra={"status": response.status_code})
        self._deliver(openid, shown)
        return shown

    def _read_reply(self, openid: str, body: str, encrypted: bool) -> Shown | None:
        """The reply as WeChat reads it; None when WeChat would reject it."""
        try:
            if encrypted:
                outer = xmltodict.parse(body)["xml"]
                crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
                body = crypto.decrypt_message(body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
            reply = xmltodict.parse(body)["xml"]
        except Exception:
            return None
        if reply.get("ToUserName") != openid or reply.get("FromUserName") != ACCOUNT:
            return None
        if reply.get("MsgType") == "text":
            content = reply.get("Content") or ""
            if len(content.encode()) > TEXT_LIMIT_BYTES:
                return None
            return Shown("passive", "text", content)
        if reply.get("MsgType") == "news":
            item = reply["Articles"]["item"]
            item = item[0] if isinstance(item, list) else item
            extra = {"url": item["Url"], "description": item["Description"]}
            return Shown("passive", "news", item["Title"], extra=extra)
        return None

    def _deliver(self, openid: str, shown: Shown) -> None:
        with self._lock:
            self.inbox.setdefault(openid, []).append(shown)

    # -- citizens and time --------------------------------------------------------------------------

    def age(self, openid: str, hours: float) -> None:
        """Pretend the citizen's last message was `hours` ago."""
        self.last_seen[openid] = time.time() - hours * 3600

    def unfollow(self, openid: str) -> None:
        self.unfollowed.add(openid)

    def expire_tokens(self) -> None:
        """Every token issued so far has run out (the API answers 42001)."""
        with self._lock:
            self._tokens = {t: 0.0 for t in self._tokens}

    def revoke_tokens(self) -> None:
        """Every token issued so far is unknown (40001), as after a refresh by someone else long ago."""
        with self._lock:
            self._tokens.clear()

    def shown(self, openid: str) -> list[Shown]:
        return list(self.inbox.get(openid, []))

    def wait_for(self, openid: str, count: int, timeout: float = 10.0) -> list[Shown]:
        """Waits until the citizen has seen `count` messages; returns them (fails on timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.inbox.get(openid, [])) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{openid} saw {self.shown(openid)}, expected {count} messages")
            time.sleep(0.02)
        return self.shown(openid)

    def errcodes(self, path: str) -> list[int]:
        return [code for p, code in self.calls if p == path]

    # -- API side -------------------------------------------------------------------------------

    def _result(self, path: str, errcode: int, **data: object) -> JSONResponse:
        with self._lock:
            self.calls.append((path, errcode))
        body = {"errcode": errcode, "errmsg": ERRORS.get(errcode, "ok")} if errcode else {"errcode": 0, "errmsg": "ok"}
        return JSONResponse(body | data)

    def _token_error(self, request: Request) -> int:
        token = request.query_params.get("access_token")
        if not token:
            return 41001
        with self._lock:
            expires = self._tokens.get(token)
        if expires is None:
            return 40001
        return 42001 if expires <= time.time() else 0

    async def _token(self, request: Request) -> JSONResponse:
        q = request.query_params
        if q.get("grant_type") != "client_credential" or q.get("appid") != self.appid:
            return self._result("token", 40013)
        if q.get("secret") != self.secret:
            return self._result("token", 40125)
        await asyncio.sleep(self.token_delay_s)
        token = secrets.token_urlsafe(48)
        now = time.time()
        with self._lock:
            self.token_requests += 1
            self._tokens = {t: min(exp, now + OLD_TOKEN_GRACE_S) for t, exp in self._tokens.items()}
            self._tokens[token] = now + 7200
        return self._result("token", 0, access_token=token, expires_in=7200)

    async def _custom_send(self, request: Request) -> JSONResponse:
        path = "message/custom/send"
        if code := self._token_error(request):
            return self._result(path, code)
        body = await _json(request)
        openid = body.get("touser") if body else None
        if not openid:
            return self._result(path, 44002 if body is None else 47001)
        if openid not in self.last_seen:
            return self._result(path, 40003)
        if time.time() - self.last_seen[openid] > WINDOW_S or openid in self.unfollowed:
            return self._result(path, 45015)
        if body.get("msgtype") == "text":
            content = body.get("text", {}).get("content", "")
            if len(content.encode()) > TEXT_LIMIT_BYTES:
                return self._result(path, 45002)
            self._deliver(openid, Shown("custom", "text", content))
        elif body.get("msgtype") == "news":
            article = body["news"]["articles"][0]
            extra = {"url": article["url"], "picurl": article.get("picurl", ""),
                     "description": article.get("description", "")}
            self._deliver(openid, Shown("custom", "news", article["title"], extra=extra))
        else:
            return self._result(path, 47001)
        return self._result(path, 0)

    async def _template_send(self, request: Request) -> JSONResponse:
        path = "message/template/send"
        if code := self._token_error(request):
            return self._result(path, code)
        body = await _json(request) or {}
        if body.get("template_id") not in self.templates:
            return self._result(path, 40037)
        openid = body.get("touser")
        if openid not in self.last_seen:
            return self._result(path, 40003)
        if openid in self.unfollowed:
            return self._result(path, 43004)
        msgid = next(self._template_ids)
        with self._lock:
            self.template_sent.append(body | {"msgid": msgid})
        return self._result(path, 0, msgid=msgid)

    async def _menu_create(self, request: Request) -> JSONResponse:
        path = "menu/create"
        if code := self._token_error(request):
            return self._result(path, code)
        body = await _json(request)
        if body is None:
            return self._result(path, 44002)
        if code := _menu_error(body):
            return self._result(path, code)
        self.menu = body
        return self._result(path, 0)

    async def _authorize(self, request: Request) -> Response:
        """WeChat's in-app browser at the authorise page: snsapi_base is silent, so straight back."""
        q = request.query_params
        if q.get("appid") != self.appid or q.get("scope") != "snsapi_base" or not self.browser_openid:
            return JSONResponse({"errcode": 10003, "errmsg": "redirect_uri or appid mismatch"}, status_code=400)
        code = secrets.token_hex(16)
        self._codes[code] = (self.browser_openid, False)
        target = urlsplit(q["redirect_uri"])
        query = parse_qs(target.query) | {"code": [code], "state": [q.get("state", "")]}
        return RedirectResponse(urlunsplit(target._replace(query=urlencode(query, doseq=True))), status_code=302)

    async def _oauth_token(self, request: Request) -> JSONResponse:
        q = request.query_params
        path = "sns/oauth2/access_token"
        if q.get("appid") != self.appid:
            return self._result(path, 40013)
        if q.get("secret") != self.secret:
            return self._result(path, 40125)
        found = self._codes.get(q.get("code", ""))
        if found is None:
            return self._result(path, 40029)
        openid, used = found
        if used:
            return self._result(path, 40163)
        self._codes[q["code"]] = (openid, True)
        return self._result(path, 0, access_token=secrets.token_hex(16), expires_in=7200,
                            refresh_token=secrets.token_hex(16), openid=openid, scope="snsapi_base")

    # -- running ----------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/cgi-bin/token", self._token),
            Route("/cgi-bin/message/custom/send", self._custom_send, methods=["POST"]),
            Route("/cgi-bin/message/template/send", self._template_send, methods=["POST"]),
            Route("/cgi-bin/menu/create", self._menu_create, methods=["POST"]),
            Route("/connect/oauth2/authorize", self._authorize),
            Route("/sns/oauth2/access_token", self._oauth_token),
        ]


def _signature(token: str, *values: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, *values)
    return signer.signature


async def _json(request: Request) -> dict | None:
    raw = await request.body()
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _menu_error(menu: dict) -> int:
    """WeChat's own checks of a custom menu, with its error codes."""
    buttons = menu.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 40016
    for button in buttons:
        if len(button.get("name", "").encode()) > 16:
            return 40018
        subs = button.get("sub_button")
        if subs is not None:
            if not 1 <= len(subs) <= 5:
                return 40023
            for sub in subs:
                if len(sub.get("name", "").encode()) > 60:
                    return 40025
                if code := _action_error(sub):
                    return code
        elif code := _action_error(button):
            return code
    return 0


def _action_error(button: dict) -> int:
    if button.get("type") == "click":
        return 0 if 0 < len(button.get("key", "").encode()) <= 128 else 40019
    if button.get("type") == "view":
        return 0 if 0 < len(button.get("url", "").encode()) <= 1024 else 40027
    return 40017
