"""The edge of the WeChat channel: what WeChat posts is checked and opened here, and nothing else
gets through. Every request must carry WeChat's signature over our token (and, encrypted, the
message signature over the ciphertext), a timestamp within five minutes, and a body under 64 KB of
well-formed XML. Refusals are logged by reason and address only, never with the content.
"""
from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

from fastapi import Request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import BaseMessage
from wechatpy.utils import check_signature

from core.errors import ApiError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_CLOCK_SKEW_S = 300  # WeChat's timestamp is the send time; older requests are replays


class Mode:
    PLAIN = "plain"            # 明文模式
    COMPATIBLE = "compatible"  # 兼容模式: plain and encrypted both accepted
    SAFE = "safe"              # 安全模式: encrypted only


@dataclass(frozen=True)
class Envelope:
    message: BaseMessage
    encrypted: bool
    sent_at: int  # WeChat's timestamp (whole seconds): when its 5-second wait began


def _refuse(request: Request, status: int, code: str, reason: str) -> ApiError:
    address = request.client.host if request.client else "?"
    log.warning("wechat: refused %s from %s: %s", request.method, address, reason)
    messages = {
        400: "请求内容无法解析。",
        403: "签名校验失败，请求被拒绝。",
        413: "请求内容过大。",
    }
    return ApiError(status, code, messages[status])


class Edge:
    def __init__(self, *, token: str, aes_key: str, appid: str, mode: str) -> None:
        self._token = token
        self._mode = mode
        self._crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    def verify_url(self, request: Request) -> str:
        """WeChat's server-address check (GET): the echo string, if the signature is ours."""
        params = request.query_params
        signature, timestamp, nonce = params.get("signature", ""), params.get("timestamp", ""), params.get("nonce", "")
        self._check_signature(request, signature, timestamp, nonce)
        echostr = params.get("echostr", "")
        if not echostr or len(echostr) > 128:
            raise _refuse(request, 400, "bad_echostr", "missing or oversize echostr")
        return echostr

    async def open(self, request: Request) -> Envelope:
        params = request.query_params
        timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
        self._check_signature(request, params.get("signature", ""), timestamp, nonce)
        body = await _read_limited(request)
        encrypted = params.get("encrypt_type", "raw") == "aes"
        xml: str | None
        if encrypted:
            xml = self._decrypt(request, body, params.get("msg_signature", ""), timestamp, nonce)
        elif self._mode == Mode.SAFE:
            raise _refuse(request, 403, "encryption_required", "plain message while in safe mode")
        else:
            xml = _text(body)
        message = _parse(xml)
        if message is None:
            raise _refuse(request, 400, "bad_xml", "malformed or incomplete XML")
        return Envelope(message, encrypted, int(timestamp))

    def seal(self, xml: str, encrypted: bool) -> str:
        """The passive reply as WeChat expects it: encrypted when the request was."""
        if not encrypted or self._crypto is None:
            return xml
        return self._crypto.encrypt_message(xml, secrets.token_hex(8), str(int(time.time())))

    def _check_signature(self, request: Request, signature: str, timestamp: str, nonce: str) -> None:
        try:
            check_signature(self._token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise _refuse(request, 403, "bad_signature", "signature does not match") from None
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_S:
            raise _refuse(request, 403, "stale_request", "timestamp outside the accepted window")

    def _decrypt(self, request: Request, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        if self._crypto is None:
            raise _refuse(request, 400, "encryption_not_configured", "encrypted message but WECHAT_AES_KEY is not set")
        try:
            return self._crypto.decrypt_message(body, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise _refuse(request, 403, "bad_signature", "message signature does not match") from None
        except InvalidAppIdException:
            raise _refuse(request, 403, "wrong_appid", "message encrypted for another account") from None
        except Exception:  # bad base64, padding, XML or encoding: all the sender's fault
            raise _refuse(request, 400, "bad_ciphertext", "encrypted message cannot be opened") from None


async def _read_limited(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _refuse(request, 413, "too_large", "declared body over the limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _refuse(request, 413, "too_large", "body over the limit")
    return bytes(body)


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse(xml: str | None) -> BaseMessage | None:
    if not xml:
        return None
    try:
        message = parse_message(xml)
        # Every message and event names its sender and time; without them it is not from WeChat.
        if not message.source or not message.time:
            return None
        return message
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError):
        return None
