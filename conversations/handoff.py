"""The handoff contract: how any channel asks for a person without knowing who serves the queue.

The service has one `Handoffs`: the agent side registers its desk there at start (`register_desk`);
a channel calls `request`.
With an agent on duty the outcome is `queued` (the hub stops asking the bot); with nobody on duty,
`callback` (a ticket keeps the question and contact). The outcome carries the Chinese text to tell
the citizen either way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

Outcome = Literal["queued", "callback", "already_waiting", "already_with_agent"]


@dataclass
class HandoffOutcome:
    outcome: Outcome
    position: int | None
    estimated_wait_s: int | None
    ticket_id: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class HandoffDesk(Protocol):
    async def __call__(
        self,
        *,
        conversation_id: str,
        reason: str,
        intent: str | None = None,
        slots: dict[str, Any] | None = None,
        contact: str | None = None,
    ) -> HandoffOutcome: ...


class HandoffUnavailable(RuntimeError):
    """No agent side is running in this service: nobody can take the conversation."""


class Handoffs:
    """The service's one door to a person. Channels get it at start, before the agent side has
    registered its desk, so the desk is looked up when a citizen asks, not when the channel starts."""

    def __init__(self) -> None:
        self.desk: HandoffDesk | None = None

    def register_desk(self, desk: HandoffDesk | None) -> None:
        self.desk = desk

    async def request(
        self,
        *,
        conversation_id: str,
        reason: str,
        intent: str | None = None,
        slots: dict[str, Any] | None = None,
        contact: str | None = None,
    ) -> HandoffOutcome:
        if self.desk is None:
            raise HandoffUnavailable("no agent desk is registered in this service")
        return await self.desk(
            conversation_id=conversation_id, reason=reason, intent=intent, slots=slots, contact=contact
        )
