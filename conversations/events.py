"""Events on a conversation's topic (`conversation_topic(id)`): what the citizen's page, the app's long
poll, the phone line and the consoles following the conversation listen to."""
from __future__ import annotations

from typing import Any, ClassVar

from core.events import Event


class NewMessage(Event):
    """A message was stored (`message` is `Message.to_dict()`)."""

    type: ClassVar[str] = "message"
    message: dict[str, Any]


class Typing(Event):
    """The bot is working on an answer."""

    type: ClassVar[str] = "typing"


class CitizenTyping(Event):
    """The citizen is typing (their web page or app says so): for the consoles following the conversation."""

    type: ClassVar[str] = "citizen_typing"


class AgentTyping(Event):
    """The agent holding the conversation is typing: for the citizen's web page and app. WeChat shows no
    typing for customer-service messages and the phone line has nothing to show, so they ignore it."""

    type: ClassVar[str] = "agent_typing"
    agent_name: str


class StatusChanged(Event):
    type: ClassVar[str] = "status"
    status: str


class Claimed(Event):
    """The handoff contract's news for channels: an agent took the conversation (the phone line
    connects the caller to them)."""

    type: ClassVar[str] = "claimed"
    agent_id: int
    agent_name: str
    agent_phone: str | None = None


class DeliveryFailed(Event):
    """A channel could not deliver an outgoing message; `reachable` names the citizen's other ways."""

    type: ClassVar[str] = "delivery_failed"
    channel: str
    message_id: int
    errcode: int
    reachable: list[dict[str, Any]]
    notice_id: int
