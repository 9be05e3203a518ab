"""Logging that never carries personal numbers or secrets.

ID-card numbers (18 characters), mainland mobile numbers and bank-card numbers (16 to 19 digits)
are masked in every log record, any configured secret value is replaced wholesale, and so are access
tokens in URLs.

Numbers are found wherever they stand: straight after Chinese characters, and also where those
characters are escaped. Percent-encoding (`证` is `%E8%AF%81` in a query string) and JSON's `\\u8bc1`
end in hex digits, so a plain "no digit before" rule would take the escape's last digit for part of
the number and let it through; an escape just before a number therefore counts as a boundary.
"""
from __future__ import annotations

import logging
import re

from core.logcontext import JsonFormatter

# Left boundary: no digit before, or an escape (percent, double percent, JSON \u) just before.
_START = r"(?:(?<=%[0-9A-Fa-f]{2})|(?<=%25[0-9A-Fa-f]{2})|(?<=\\u[0-9A-Fa-f]{4})|(?<!\d))"
# People write 138-1234-5678 and 6222 0212 3456 7890; a query string turns the space into + or %20.
_SEP = r"(?:[ +-]|%20|%2520)?"
_ID_CARD = re.compile(_START + r"(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(_START + r"((?:\+|%2[Bb])?86)?(1[3-9]\d)" + _SEP + r"\d{4}" + _SEP + r"(\d{4})(?!\d)")
_BANK_CARD = re.compile(_START + r"(\d{4})(?:" + _SEP + r"\d){8,11}" + _SEP + r"(\d{4})(?!\d)")
# Short-lived credentials in URLs (WeChat's API puts its access token in the query string).
_TOKEN_PARAM = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")


def mask_personal(text: str) -> str:
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(3)}", text)
    return _BANK_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)


class MaskingFilter(logging.Filter):
    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._secrets = [s for s in (secrets or []) if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self._secrets:
            message = message.replace(secret, "***")
        message = _TOKEN_PARAM.sub(r"\1***", message)
        record.msg, record.args = mask_personal(message), None
        return True


def configure_logging(secrets: list[str] | None = None, level: int = logging.INFO, fmt: str = "text") -> None:
    """`fmt`: "text" (a line a person reads) or "json" (one object per line with the request and
    conversation ids, for a log collector)."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter(clean=mask_personal))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn installs its own handlers; route them through ours so masking applies.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
