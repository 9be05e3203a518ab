"""The rating asked at the end of a phone call (好差评: keys 1-5): the seam the ratings package fills.

The phone line sits below the ratings, so it only says what was served and which key was pressed;
whoever registers a `CallRater` (ratings/startup.py) decides whether this call is asked (once per call,
never again) and records the answer. With none registered the line says goodbye as it always did.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# What a call was, as the ratings name their events (ratings.models.EventKind).
CALL_AGENT = "call_agent"
CALL_BOT = "call_bot"
OUTBOUND = "outbound"
# 5 = 非常满意 … 1 = 非常不满意, as the prompt says; any other key (or none) rates nothing.
KEYS = frozenset("12345")


@dataclass(frozen=True)
class ServedCall:
    """One call as the rating sees it: its event is `call:<call_sid>`."""

    call_sid: str
    kind: str  # CALL_AGENT | CALL_BOT | OUTBOUND
    conversation_id: str | None = None
    agent_id: int | None = None  # the agent who served it; None: the voice assistant
    business: str | None = None


class CallRater(Protocol):
    async def ask(self, call: ServedCall) -> bool:
        """True if the caller is to be asked now: the first time for this call, never again."""
        ...

    async def rate(self, call: ServedCall, level: int) -> bool:
        """Record the key pressed (1-5); False when the call was already rated (a replay): nothing changed."""
        ...


def level_of(digits: str) -> int | None:
    """The level a keypad answer names, or None for anything else (0, 6-9, *, #, several keys, none)."""
    key = digits.strip().rstrip("#")
    return int(key) if len(key) == 1 and key in KEYS else None


def agent_number(agent_id: str | None) -> int | None:
    """The call's agent as stored by the claim (text), as a staff id; a browser-phone or test value that is
    not a number rates the call without an agent rather than failing."""
    try:
        return int(agent_id) if agent_id else None
    except ValueError:
        return None
