"""What reaches `/wechat` unchecked is refused: forged, stale, oversize, malformed requests, with the
right status, logged by reason only. The encryption mode decides what is accepted."""
from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from channels.wechat.edge import MAX_BODY_BYTES, Edge, Mode
from core.errors import ApiError
from core.settings import Settings
from fakes import wechat as wx
from fakes.wechat import _signature
from server.app import create_app
from tests.channels.wechat.conftest import AES_KEY, APPID, TOKEN, LiveService, service_settings

MARKER = "身份证130402199001011234"


def verify_params(token: str = TOKEN, timestamp: int | None = None) -> dict:
    ts, nonce = str(timestamp or int(time.time())), "n0nce"
    return {"signature": _signature(token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": "echo-12345"}


def test_url_verification_echoes_only_for_our_token(service):
    ok = httpx.get(service.wechat_url, params=verify_params())
    assert (ok.status_code, ok.text) == (200, "echo-12345")
    assert httpx.get(service.wechat_url, params=verify_params(token="not-ours")).status_code == 403
    assert httpx.get(service.wechat_url, params=verify_params(timestamp=int(time.time()) - 3600)).status_code == 403
    assert httpx.get(service.wechat_url).status_code == 403


def post_raw(service, params: dict, body: str | bytes) -> httpx.Response:
    return httpx.post(service.wechat_url, params=params, content=body, headers={"Content-Type": "text/xml"})


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_forged_request_is_refused_and_logged_without_content(service, wechat, openid, caplog, mode):
    params, body = wechat.signed(wx.text(openid, MARKER), mode=mode)
    key = "signature" if mode == "plain" else "msg_signature"
    params[key] = "0" * 40
    with caplog.at_level(logging.WARNING):
        response = post_raw(service, params, body)
    assert (response.status_code, response.json()["code"]) == (403, "bad_signature")
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals and all(MARKER not in line and openid not in line for line in refusals)
    assert MARKER not in caplog.text
    assert wechat.shown(openid) == []


def test_a_stale_replay_is_refused_even_with_a_valid_signature(service, wechat, openid):
    params, body = wechat.signed(wx.text(openid, "你好"), timestamp=int(time.time()) - 600)
    response = post_raw(service, params, body)
    assert (response.status_code, response.json()["code"]) == (403, "stale_request")


@pytest.mark.parametrize(
    "body",
    [
        "<xml><MsgType>text</MsgType><Content>没有结束",
        "not xml at all",
        "<xml><MsgType>text</MsgType><Content>无发送者</Content></xml>",
        "<other><MsgType>text</MsgType></other>",
        b"\xff\xfe<xml></xml>",
        "",
    ],
)
def test_malformed_xml_is_a_400(service, wechat, openid, body):
    params, _ = wechat.signed(wx.text(openid, "x"))
    response = post_raw(service, params, body)
    assert (response.status_code, response.json()["code"]) == (400, "bad_xml")


def test_undecryptable_message_is_a_400(service, wechat, openid):
    params, _ = wechat.signed(wx.text(openid, "x"), mode="safe")
    body = wx.to_xml({"ToUserName": wx.ACCOUNT, "Encrypt": "bm90IHJlYWxseSBjaXBoZXJ0ZXh0"})
    params["msg_signature"] = _signature(TOKEN, params["timestamp"], params["nonce"], "bm90IHJlYWxseSBjaXBoZXJ0ZXh0")
    assert post_raw(service, params, body).json()["code"] == "bad_ciphertext"


def test_oversize_body_is_a_413_declared_or_streamed(service, wechat, openid):
    params, _ = wechat.signed(wx.text(openid, "x"))
    big = "<xml>" + "长" * (MAX_BODY_BYTES // 3 + 10) + "</xml>"
    assert post_raw(service, params, big).status_code == 413

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b"x" * 8192

    streamed = httpx.post(service.wechat_url, params=params, content=chunks())
    assert streamed.status_code == 413


def test_message_encrypted_for_another_account_is_refused(service, openid):
    other = wx.FakeWeChat(token=TOKEN, appid="wx_other_account", secret="s", aes_key=AES_KEY)
    params, body = other.signed(wx.text(openid, "x"), mode="safe")
    assert post_raw(service, params, body).json()["code"] == "wrong_appid"


# -- modes, checked on the edge alone ----------------------------------------------------------------

def request_for(params: dict, body: str) -> Request:
    raw = body.encode()

    async def receive() -> dict:
        return {"type": "http.request", "body": raw, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/wechat", "query_string": urlencode(params).encode(),
             "headers": [(b"content-length", str(len(raw)).encode())], "client": ("127.0.0.1", 50000)}
    return Request(scope, receive)


async def open_with(edge: Edge, mode: str, openid: str) -> tuple[bool, int | None]:
    sender = wx.FakeWeChat(token=TOKEN, appid=APPID, secret="s", aes_key=AES_KEY)
    params, body = sender.signed(wx.text(openid, "你好"), mode=mode)
    try:
        envelope = await edge.open(request_for(params, body))
        return envelope.encrypted, None
    except ApiError as error:
        return False, error.status


async def test_plain_mode_without_aes_key_refuses_encrypted_messages():
    edge = Edge(token=TOKEN, aes_key="", appid=APPID, mode=Mode.PLAIN)
    assert await open_with(edge, "plain", "o-1") == (False, None)
    assert await open_with(edge, "safe", "o-1") == (False, 400)


async def test_safe_mode_accepts_only_encrypted_messages():
    edge = Edge(token=TOKEN, aes_key=AES_KEY, appid=APPID, mode=Mode.SAFE)
    assert await open_with(edge, "safe", "o-1") == (True, None)
    assert await open_with(edge, "compatible", "o-1") == (True, None)
    assert await open_with(edge, "plain", "o-1") == (False, 403)


async def test_compatible_mode_accepts_both():
    edge = Edge(token=TOKEN, aes_key=AES_KEY, appid=APPID, mode=Mode.COMPATIBLE)
    assert await open_with(edge, "plain", "o-1") == (False, None)
    assert await open_with(edge, "compatible", "o-1") == (True, None)


def test_the_centre_can_require_safe_mode_on_the_running_service(tmp_path, index_dir, rasa, wechat, openid):
    """WECHAT_MODE=safe reaches the webhook: a plain message, signed correctly but by a signature that does
    not cover its body (a captured query string would carry any body), is refused; encrypted ones are served."""
    settings = service_settings(tmp_path, index_dir, rasa, wechat, wechat_mode="safe")
    with LiveService(settings) as service:
        params, body = wechat.signed(wx.text(openid, "你好"), mode="plain")
        refused = post_raw(service, params, body)
        assert (refused.status_code, refused.json()["code"]) == (403, "encryption_required")
        params, body = wechat.signed(wx.text(openid, "你好"), mode="safe")
        assert post_raw(service, params, body).status_code == 200


# -- configuration -----------------------------------------------------------------------------------

def test_settings_say_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="WECHAT_APPID and WECHAT_SECRET"):
        Settings(data_dir=tmp_path, wechat_token=TOKEN)
    with pytest.raises(ValueError, match="43-character"):
        Settings(data_dir=tmp_path, wechat_token=TOKEN, wechat_appid=APPID, wechat_secret="s", wechat_aes_key="short")
    with pytest.raises(ValueError, match="needs WECHAT_AES_KEY"):
        Settings(data_dir=tmp_path, wechat_token=TOKEN, wechat_appid=APPID, wechat_secret="s", wechat_mode="safe")
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, wechat_reply_budget_s=5.0)


def test_without_a_token_the_channel_is_off(tmp_path, index_dir):
    with TestClient(create_app(Settings(data_dir=tmp_path, index_dir=index_dir))) as client:
        response = client.post("/wechat", content="<xml/>")
        assert (response.status_code, response.json()["code"]) == (404, "wechat_disabled")
