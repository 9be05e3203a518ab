"""Cleaning citizen text at the edge, the same way for every channel."""
from __future__ import annotations

import re
import unicodedata

from core.errors import ApiError

MAX_MESSAGE_CHARS = 2000
# Control and format characters (except newline and tab) carry nothing a citizen meant to say
# and break storage on some databases (PostgreSQL refuses NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def clean_text(raw: str) -> str:
    text = unicodedata.normalize("NFC", _CONTROL.sub("", raw)).strip()
    if not text:
        raise ApiError(422, "empty_message", "消息内容不能为空，请输入您的问题。")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApiError(
            422, "message_too_long", f"消息太长了（{len(text)}字），请精简到{MAX_MESSAGE_CHARS}字以内再发送。"
        )
    return text
