"""App push: one notice to one app user through the app backend's push endpoint (APP_PUSH_URL).

The request is JSON {"user_id", "title", "body", "url", "push_id"}, signed so the backend can tell it is
ours:
`X-Hpf-Timestamp` (Unix seconds) and `X-Hpf-Signature` (hex HMAC-SHA256 of `<timestamp>.<body bytes>`
with APP_PUSH_SECRET); docs/outreach.md, "App push", is the backend's side of it. A 2xx is sent; a 5xx,
a timeout or a broken connection is passing (the dialer tries the person again later, not counted);
a 4xx is final (the backend does not know the user, or refuses the request).

When the app has shown the notice, the backend may say so: `POST /callout/app-push/receipts`
{"push_id", "status": "delivered"}, signed the same way with the same secret (`verify`), which records
the funnel's delivered stage. `push_id` is the attempt's id signed by us, so a receipt names no other.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from callout.provider import Fault, ProviderError
from core import signing
from core.settings import Settings

TIMEOUT_S = 10.0
TIMESTAMP_HEADER = "X-Hpf-Timestamp"
SIGNATURE_HEADER = "X-Hpf-Signature"
MAX_SKEW_S = 300  # a receipt's timestamp this far from our clock is refused (a replay of an old one)
_PURPOSE = "app-push"


def push_id(secret: str, attempt_id: int) -> str:
    return signing.sign(secret, _PURPOSE, str(attempt_id))


def attempt_of(secret: str, pushed: str) -> int | None:
    """The attempt a receipt's push_id names, or None when we did not make it."""
    value = signing.unsign(secret, _PURPOSE, pushed) if secret else None
    return int(value) if value is not None and value.isdigit() else None


def verify(secret: str, timestamp: str, given: str, body: bytes, now: float) -> bool:
    """A request signed with the shared secret, recently: the backend's receipts (and what our fake checks)."""
    if not secret or not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_SKEW_S:
        return False
    return hmac.compare_digest(given, signature(secret, timestamp, body))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class AppPush:
    def __init__(self, settings: Settings, timeout_s: float = TIMEOUT_S) -> None:
        self._url = settings.app_push_url
        self._secret = settings.app_push_secret.get_secret_value()
        self._client = httpx.AsyncClient(timeout=timeout_s)

    @staticmethod
    def configured(settings: Settings) -> bool:
        return bool(settings.app_push_url and settings.app_push_secret.get_secret_value())

    async def send(self, *, user_id: str, title: str, body: str, url: str | None, attempt_id: int) -> None:
        """Pushed, or ProviderError: PASSING (5xx, timeout, network) or NUMBER (4xx: final for this user)."""
        content = json.dumps({"user_id": user_id, "title": title, "body": body, "url": url,
                              "push_id": push_id(self._secret, attempt_id)}, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: signature(self._secret, stamp, content)}
        try:
            response = await self._client.post(self._url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise ProviderError(Fault.PASSING, None, type(exc).__name__) from exc
        if response.status_code >= 500:
            raise ProviderError(Fault.PASSING, response.status_code, response.text[:200])
        if response.status_code >= 400:
            raise ProviderError(Fault.NUMBER, response.status_code, response.text[:200])

    async def close(self) -> None:
        await self._client.aclose()
