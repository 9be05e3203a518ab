"""Live events of the agent side, on the service's bus (Redis between instances).

The database is the record; an event only tells consoles what changed so they need not poll. The
console page (`static/console.js`, `static/supervisor.js`) reads these fields by name.
- `console:pool`: a conversation or callback ticket entered or left the pool (every console).
- `console:agent:<id>`: something for one agent (work pushed or transferred to them, duty changes).
- `console:supervisors`: alerts (a conversation nobody grabbed) and figures worth refreshing.
- `conversation:<id>` (the hub's topic): `Claimed` (`conversations/events.py`), for channels that connect
  the citizen to the agent.
"""
from __future__ import annotations

from typing import ClassVar

from core.events import Event

POOL = "console:pool"
SUPERVISORS = "console:supervisors"


def agent_topic(agent_id: int) -> str:
    return f"console:agent:{agent_id}"


class PoolAdded(Event):
    """A conversation entered the pool (`item` as `pool.item` makes it)."""

    type: ClassVar[str] = "pool.added"
    item: dict


class PoolRemoved(Event):
    """A conversation left the pool: `claimed` or `left` (the citizen went). `agent_id` lets the taker's
    own page tell its grab from a colleague's; no name, since every console on duty hears it."""

    type: ClassVar[str] = "pool.removed"
    conversation_id: str
    reason: str
    agent_id: int | None = None


class TicketsChanged(Event):
    """A callback ticket was opened, claimed or done (`ticket` as `pool.ticket_item` makes it). The ticket's
    `agent_id` lets the taker's own page tell its claim apart; no name, since every console on duty hears it."""

    type: ClassVar[str] = "tickets.changed"
    ticket: dict


class Assigned(Event):
    """A conversation is now this agent's: `how` is grab, push or transfer."""

    type: ClassVar[str] = "assigned"
    conversation_id: str
    how: str
    note: str | None = None
    by: str | None = None


class Released(Event):
    """A conversation is no longer this agent's: finished, transferred, returned or left."""

    type: ClassVar[str] = "released"
    conversation_id: str
    reason: str


class DutyChanged(Event):
    """An agent's duty: `state` is a shift state or `off` (the fields of `duty.shift_dict`)."""

    type: ClassVar[str] = "duty"
    agent_id: int
    reason: str | None
    state: str
    shift_id: int | None
    minutes: int | None
    requested_at: str | None = None
    started_at: str | None = None
    ends_at: str | None


class Alert(Event):
    """For supervisors: `message` is shown as it is."""

    type: ClassVar[str] = "alert"
    kind: str
    conversation_id: str
    waited_s: int
    assigned_to: str | None
    message: str


class StatsChanged(Event):
    """The figures on the supervisor page are worth fetching again."""

    type: ClassVar[str] = "stats.changed"
