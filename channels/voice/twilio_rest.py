"""Twilio's REST API through the official client, at TWILIO_API_BASE (a local fake in tests)."""
from __future__ import annotations

import logging

from fastapi.concurrency import run_in_threadpool
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from core.settings import Settings

TWILIO_API = "https://api.twilio.com"
# The client logs every request at INFO (numbers, message bodies): keep that out of the service log.
_quiet = logging.getLogger("channels.voice.twilio_http")
_quiet.setLevel(logging.WARNING)


class _RebasedHttpClient(TwilioHttpClient):
    """Sends what the client addresses to api.twilio.com to `base` instead."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_quiet)
        self._base = base.rstrip("/")

    def request(self, method: str, url: str, *args, **kwargs) -> Response:
        if url.startswith(TWILIO_API):
            url = self._base + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


class TwilioRest:
    def __init__(self, settings: Settings, timeout_s: float = 5.0) -> None:
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=_RebasedHttpClient(settings.twilio_api_base, timeout_s),
        )

    async def send_sms(self, *, to: str, from_: str, body: str, status_callback: str | None = None) -> str:
        """The message's sid; with `status_callback`, Twilio posts its MessageStatus there (delivered …)."""
        extra = {"status_callback": status_callback} if status_callback else {}
        message = await run_in_threadpool(self._client.messages.create, to=to, from_=from_, body=body, **extra)
        return message.sid

    async def redirect_call(self, call_sid: str, url: str) -> None:
        """Make a live call fetch new TwiML from `url` (it leaves the queue it is waiting in)."""
        await run_in_threadpool(self._client.calls(call_sid).update, url=url, method="POST")
