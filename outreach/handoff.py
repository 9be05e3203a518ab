"""The signed hand-off from a 一点就能办 link to the centre's online business form.

"去办理" sends the citizen to the form's URL with one query parameter, `hpf_handoff=<payload>.<signature>`:
`payload` is the unpadded base64url of a compact UTF-8 JSON object, `signature` the unpadded base64url
of HMAC-SHA256 over the payload's base64url text, keyed with OUTREACH_BUSINESS_SECRET (shared with the
business system, never sent). docs/outreach.md ("Hand-off to the business system") tells the business
system how to check it; `verify` here is the reference the tests hold it to.

The payload names the link, the business, the depositor as the opaque keyed reference this service keeps
(never the account number; the citizen still logs in to the business system as usual), when it was made
and until when it holds, and a nonce the business system remembers until then so a copied URL is taken
once.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

PARAM = "hpf_handoff"
VERSION = 1
# Long enough to load the form, short enough that a URL left in a browser's history soon stops working.
LIFETIME_S = 600
MAX_CHARS = 2048


class HandoffError(ValueError):
    """A hand-off that must not be honoured; `code` says why (stable, for the business system's logs)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Handoff:
    link_id: str
    business: str
    depositor_ref: str | None
    issued_at: int   # Unix seconds
    expires_at: int  # Unix seconds
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).digest())


def make(secret: str, *, link_id: str, business: str, depositor_ref: str | None, now: datetime,
         lifetime_s: int = LIFETIME_S) -> str:
    """The value of `hpf_handoff` for one press of "去办理" (a fresh nonce each time)."""
    issued = int(now.timestamp())
    body: dict[str, Any] = {
        "v": VERSION, "link": link_id, "business": business, "ref": depositor_ref,
        "iat": issued, "exp": issued + lifetime_s, "nonce": secrets.token_urlsafe(16),
    }
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_mac(secret, payload)}"


def verify(secret: str, value: str, *, now: datetime, business: str | None = None) -> Handoff:
    """What the business system does with `hpf_handoff`: the signature first (nothing in an unsigned
    payload is read), then the version, the time window and, when given, that it is for this form.
    Remembering the nonce until `expires_at` is the caller's part (it owns the store)."""
    if not value or len(value) > MAX_CHARS or value.count(".") != 1:
        raise HandoffError("malformed")
    payload, signature = value.split(".")
    if not hmac.compare_digest(signature, _mac(secret, payload)):
        raise HandoffError("bad_signature")
    try:
        body = json.loads(_unb64(payload).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise HandoffError("malformed") from exc
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise HandoffError("unsupported_version")
    try:
        handoff = Handoff(
            link_id=str(body["link"]), business=str(body["business"]),
            depositor_ref=None if body.get("ref") is None else str(body["ref"]),
            issued_at=int(body["iat"]), expires_at=int(body["exp"]), nonce=str(body["nonce"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HandoffError("malformed") from exc
    moment = int(now.timestamp())
    # A minute's grace for clocks that differ between the two systems.
    if handoff.issued_at > moment + 60:
        raise HandoffError("not_yet_valid")
    if moment >= handoff.expires_at:
        raise HandoffError("expired")
    if business is not None and handoff.business != business:
        raise HandoffError("wrong_business")
    return handoff
