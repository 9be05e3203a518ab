"""The handoff contract: how any channel asks for a person without knowing who serves the queue.

The agent side registers its desk at start (`register_desk`); a channel calls `request_handoff`.
With an agent on duty the outcome is `queued` (the hub stops asking the bot); with nobody on duty,
`callback` (a ticket keeps the question and contact). The outcome carries the Chinese text to tell
the citizen either way.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, Protocol

Outcome = Literal["queued", "callback", "already_waiting", "already_with_agent"]


@dataclass
class HandoffOutcome:
    outcome: Outcome
    position: int | None
    estimated_wait_s: int | None
    ticket_id: int | None
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


class HandoffDesk(Protocol):
    async def __call__(
        self,
        app_state: object,
        *,
        conversation_id: str,
        reason: str,
        intent: str | None = None,
        slots: dict | None = None,
        contact: str | None = None,
    ) -> HandoffOutcome: ...


class HandoffUnavailable(RuntimeError):
    """No agent side is running in this service: nobody can take the conversation."""


def register_desk(app_state: object, desk: HandoffDesk | None) -> None:
    app_state.handoff_desk = desk  # type: ignore[attr-defined]


async def request_handoff(
    app_state: object,
    *,
    conversation_id: str,
    reason: str,
    intent: str | None = None,
    slots: dict | None = None,
    contact: str | None = None,
) -> HandoffOutcome:
    desk: HandoffDesk | None = getattr(app_state, "handoff_desk", None)
    if desk is None:
        raise HandoffUnavailable("no agent desk is registered in this service")
    return await desk(app_state, conversation_id=conversation_id, reason=reason, intent=intent, slots=slots,
                      contact=contact)
