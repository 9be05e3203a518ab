"""The phone and SMS provider as the dialer sees it: place a call (with answering-machine detection and
status callbacks), send an SMS, redirect or end a live call. Twilio through its official client, at
TWILIO_API_BASE (a local fake in tests), like the inbound phone line.

Every refusal becomes a `ProviderError` that says what to do about it: the number is bad (never try it
again), the account is misconfigured (stop the campaign until someone fixes it), or it is passing
(rate limit, Twilio down, network): try the same person later without counting it against them.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from fastapi.concurrency import run_in_threadpool
from twilio.base.exceptions import TwilioRestException

from channels.voice.twilio_rest import TwilioRest
from core.settings import Settings


class Fault(StrEnum):
    NUMBER = "number"        # this recipient cannot be reached at this number: final
    OPTED_OUT = "opted_out"  # the recipient unsubscribed at the provider: final, and onto our list
    CONFIG = "config"        # our account or caller id: pause the campaign, keep the recipient
    PASSING = "passing"      # rate limit, outage, network: the same recipient later, not counted


# Twilio's error codes (https://www.twilio.com/docs/api/errors) grouped by what the dialer does.
NUMBER_CODES = frozenset({21211, 21214, 21216, 21217, 21401, 21407, 21612, 21614, 13223, 13224})
OPTED_OUT_CODES = frozenset({21610})
CONFIG_CODES = frozenset({20003, 20404, 21210, 21212, 21215, 21219, 21408, 21606, 21659})


@dataclass
class ProviderError(Exception):
    fault: Fault
    code: int | None
    detail: str

    def __str__(self) -> str:
        return f"{self.fault} ({self.code}): {self.detail}"


def classify(exc: Exception) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    if not isinstance(exc, TwilioRestException):  # the network, a timeout, anything before an answer
        return ProviderError(Fault.PASSING, None, type(exc).__name__)
    code = exc.code
    detail = (exc.msg or "")[:200]
    if code in OPTED_OUT_CODES:
        return ProviderError(Fault.OPTED_OUT, code, detail)
    if code in NUMBER_CODES:
        return ProviderError(Fault.NUMBER, code, detail)
    if code in CONFIG_CODES or exc.status in (401, 403):
        return ProviderError(Fault.CONFIG, code, detail)
    return ProviderError(Fault.PASSING, code or exc.status, detail)


class Provider(Protocol):
    async def place_call(self, *, to: str, url: str, status_callback: str, amd_callback: str,
                         ring_timeout_s: int) -> str: ...

    async def send_text(self, *, to: str, body: str, status_callback: str | None = None) -> str: ...

    async def redirect(self, call_sid: str, url: str) -> None: ...

    async def hang_up(self, call_sid: str) -> None: ...


def missing_settings(settings: Settings) -> list[str]:
    """What outbound calls still need: Twilio must reach our webhooks and know our number."""
    needed = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token.get_secret_value(),
        "TWILIO_CALLER_ID": settings.twilio_caller_id,
        "PUBLIC_BASE_URL": settings.public_base_url,
    }
    return [name for name, value in needed.items() if not value]


class TwilioProvider(TwilioRest):
    """Calls from TWILIO_CALLER_ID with asynchronous machine detection that waits for the greeting's end
    (so a voicemail is left after the beep), and a status callback for every event."""

    STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]

    def __init__(self, settings: Settings, timeout_s: float = 10.0) -> None:
        super().__init__(settings, timeout_s)
        self._caller_id = settings.twilio_caller_id

    async def place_call(self, *, to: str, url: str, status_callback: str, amd_callback: str,
                         ring_timeout_s: int) -> str:
        try:
            call = await run_in_threadpool(
                self._client.calls.create, to=to, from_=self._caller_id, url=url, method="POST",
                status_callback=status_callback, status_callback_method="POST",
                status_callback_event=self.STATUS_EVENTS, timeout=ring_timeout_s,
                machine_detection="DetectMessageEnd", async_amd="true",
                async_amd_status_callback=amd_callback, async_amd_status_callback_method="POST",
            )
        except Exception as exc:
            raise classify(exc) from exc
        return call.sid

    async def send_text(self, *, to: str, body: str, status_callback: str | None = None) -> str:
        try:
            return await self.send_sms(to=to, from_=self._caller_id, body=body, status_callback=status_callback)
        except Exception as exc:
            raise classify(exc) from exc

    async def redirect(self, call_sid: str, url: str) -> None:
        try:
            await self.redirect_call(call_sid, url)
        except Exception as exc:
            raise classify(exc) from exc

    async def hang_up(self, call_sid: str) -> None:
        try:
            await run_in_threadpool(self._client.calls(call_sid).update, status="completed")
        except Exception as exc:
            raise classify(exc) from exc
