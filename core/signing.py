"""HMAC-signed tokens: a citizen's browser holds its visitor id, but cannot forge another's."""
from __future__ import annotations

import base64
import hashlib
import hmac


def _mac(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode().rstrip("=")


def sign(secret: str, purpose: str, value: str) -> str:
    return f"{value}.{_mac(secret, purpose, value)}"


def unsign(secret: str, purpose: str, token: str) -> str | None:
    """The signed value, or None if the token was not made by us for this purpose."""
    value, _, mac = token.rpartition(".")
    # compare_digest raises on non-ASCII text; no token we make has any, so such a one is simply not ours.
    if not value or not mac.isascii() or not hmac.compare_digest(mac, _mac(secret, purpose, value)):
        return None
    return value
