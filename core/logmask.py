"""Logging that never carries personal numbers or secrets.

ID-card numbers (18 characters) and mainland mobile numbers are masked in every log record,
any configured secret value is replaced wholesale, and so are access tokens in URLs.
"""
from __future__ import annotations

import logging
import re

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)(\+?86)?(1[3-9]\d)\d{4}(\d{4})(?!\d)")
# Short-lived credentials in URLs (WeChat's API puts its access token in the query string).
_TOKEN_PARAM = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")


def mask_personal(text: str) -> str:
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(3)}", text)


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


def configure_logging(secrets: list[str] | None = None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
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
