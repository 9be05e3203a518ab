"""Buttons that mean what they say: a message's buttons answer that message only.

A message's buttons are valid while it is the newest message with buttons and none of its choices has
been sent since; a newer message with buttons, or one of its own choices sent, spends them. Every
channel shows the same: the web page disables spent buttons, the app API marks them (`buttons_valid`),
and a spent choice replayed later ("1分" after the rating, "首套" from a finished calculation) is not
given to the bot, where it could restart a flow that has moved on: it gets the current choices or a
short "这个选项已过期" instead (`StaleChoices`, a hub interceptor).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from conversations.models import Author, Conversation, ConversationStatus, Message
from conversations.replies import Reply

# A choice is a short answer to the question its message asked ("首套", "是", "1分", "继续计算"), not a
# request that stands on its own ("转人工", "帮我算一下月供", "公积金怎么提取"), which any time may ask.
CHOICE_MAX_CHARS = 8
_REQUEST = re.compile(r"[？?]|吗|怎么|什么|哪|多少|几|帮我|我想|我要|看看|人工|客服|转接")
STALE_TEXT = "这个选项已过期。"
# A clarifying question's buttons are article titles: asking for one later is a question of its own.
_CLARIFY = re.compile(r"请选择一项")
HistoryReader = Any  # the hub: `history(conversation_id, after_id=0, limit=…)` (typed loosely: no cycle)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def offered(message: Message) -> list[dict[str, Any]]:
    """The buttons an outgoing message offered (none for the citizen's own)."""
    if message.author == Author.CITIZEN:
        return []
    buttons = (message.payload or {}).get("buttons") or []
    return [b for b in buttons if isinstance(b, dict) and b.get("payload")]


def chosen(text: str, buttons: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The button whose payload (or title) the text is, if any."""
    said = _norm(text)
    for button in buttons:
        if said in (_norm(str(button.get("payload", ""))), _norm(str(button.get("title", "")))):
            return button
    return None


def is_choice(text: str) -> bool:
    said = _norm(text)
    return 0 < len(said) <= CHOICE_MAX_CHARS and not _REQUEST.search(said)


def validity(messages: Sequence[Message]) -> dict[int, bool]:
    """Each message with buttons (oldest first in `messages`) → whether its buttons are still valid."""
    result: dict[int, bool] = {}
    current: Message | None = None
    for message in messages:
        if message.author == Author.CITIZEN:
            if current is not None and chosen(message.text, offered(current)) is not None:
                result[current.id] = False  # answered: its choices are spent
                current = None
            continue
        if offered(message):
            if current is not None:
                result[current.id] = False  # superseded by newer choices
            result[message.id] = True
            current = message
    return result


def with_validity(message: dict[str, Any], valid: dict[int, bool]) -> dict[str, Any]:
    """A message as the APIs show it, its payload marked `buttons_valid` when it has buttons."""
    if message.get("id") not in valid:
        return message
    return {**message, "payload": {**(message.get("payload") or {}), "buttons_valid": valid[message["id"]]}}


def stale_reply(text: str, before: Sequence[Message]) -> Reply | None:
    """For a choice that only spent buttons offered: the current choices, or "这个选项已过期"."""
    if not is_choice(text):
        return None
    valid = validity(before)
    current = [m for m in before if valid.get(m.id)]
    if current and chosen(text, offered(current[-1])) is not None:
        return None  # a choice in play
    spent = [
        m for m in before
        if valid.get(m.id) is False and not _CLARIFY.search(m.text) and chosen(text, offered(m)) is not None
    ]
    if not spent:
        return None  # never offered: the citizen's own words, for the bot
    if current:
        buttons = offered(current[-1])
        titles = "、".join(f"“{b.get('title') or b['payload']}”" for b in buttons)
        return Reply(text=f"{STALE_TEXT}请在最新的选项里选：{titles}。", buttons=buttons, meta={"stale_choice": True})
    return Reply(text=f"{STALE_TEXT}请直接告诉我您现在想办的事，或者说“转人工”。", meta={"stale_choice": True})


class StaleChoices:
    """The hub's interceptor for spent choices replayed while the bot serves (registered last, so a
    rating still pending or any other service reply comes first)."""

    HISTORY = 60  # messages read back: a replayed choice is a recent one

    def __init__(self, hub: HistoryReader) -> None:
        self._hub = hub

    async def __call__(self, conversation: Conversation, message: Message, status: str) -> list[Reply] | None:
        if status != ConversationStatus.BOT or not is_choice(message.text):
            return None
        recent = await self._hub.history(conversation.id, limit=self.HISTORY)
        before = [m for m in recent if m.id < message.id]
        reply = stale_reply(message.text, before)
        return [reply] if reply is not None else None
