"""The callback ticket's lifecycle: open → claimed (by one agent) → done. Every change of a ticket's
state is a function here, run inside the caller's transaction: one conditional UPDATE (the loser of a
race gets an `IllegalTransition` naming the states expected and found), `open_key` cleared once the
ticket is done, the audit entry, and the events to publish once the caller has committed.
"""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import events, pool
from agent_console.models import CallbackTicket, TicketState
from core import states
from core.bus import Outbox
from core.db import rowcount, utcnow
from staff import audit

T = TicketState
ALLOWED: dict[TicketState, frozenset[TicketState]] = {
    T.CLAIMED: frozenset({T.OPEN}),  # one agent takes it
    T.DONE: frozenset({T.CLAIMED}),  # that agent has called back or answered
}


class IllegalTransition(states.IllegalTransition):
    """Also raised when the ticket is in the expected state but claimed by another agent than the one named;
    `found` is None when there is no such ticket."""

    def __init__(self, ticket_id: int, target: TicketState, expected: frozenset, found: str | None) -> None:
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id}", target, expected, found)


async def _move(
    session: AsyncSession,
    ticket_id: int,
    target: TicketState,
    expected: frozenset[TicketState],
    *,
    held_by: int | None = None,
    **values: object,
) -> CallbackTicket:
    allowed = states.allowed_before(ALLOWED, target, expected)
    changes = {"state": target, **values}
    if target == T.DONE:
        changes["open_key"] = None  # the conversation may get a new ticket
    conditions = [CallbackTicket.id == ticket_id, CallbackTicket.state.in_([str(s) for s in allowed])]
    if held_by is not None:
        conditions.append(CallbackTicket.agent_id == held_by)
    result = await session.execute(update(CallbackTicket).where(*conditions).values(**changes))
    if rowcount(result) != 1:
        found = await session.scalar(select(CallbackTicket.state).where(CallbackTicket.id == ticket_id))
        raise IllegalTransition(ticket_id, target, allowed, found)
    return await session.get_one(CallbackTicket, ticket_id, populate_existing=True)


def _changed(ticket: CallbackTicket) -> Outbox:
    return Outbox().add(events.POOL, events.TicketsChanged(ticket=pool.ticket_item(ticket)))


async def claim(session: AsyncSession, ticket_id: int, *, agent_id: int, actor: audit.Actor) -> Outbox:
    """One agent takes an open ticket. The other consoles learn only that it is taken (the ticket's
    `agent_id`), not by whom: the pool topic reaches every console on duty."""
    ticket = await _move(session, ticket_id, T.CLAIMED, frozenset({T.OPEN}), agent_id=agent_id, claimed_at=utcnow())
    audit.record(session, actor, "ticket_claim", f"ticket:{ticket_id}")
    return _changed(ticket)


def reply(session: AsyncSession, ticket: CallbackTicket, *, actor: audit.Actor, chars: int) -> None:
    """The agent answers the citizen in their conversation: on record, the ticket stays claimed."""
    audit.record(session, actor, "ticket_reply", f"ticket:{ticket.id}", chars=chars)


async def done(session: AsyncSession, ticket_id: int, *, agent_id: int, actor: audit.Actor, note: str | None) -> Outbox:
    """The agent who claimed the ticket closes it."""
    ticket = await _move(session, ticket_id, T.DONE, frozenset({T.CLAIMED}), held_by=agent_id, note=note,
                         done_at=utcnow())
    audit.record(session, actor, "ticket_done", f"ticket:{ticket_id}")
    return _changed(ticket)
