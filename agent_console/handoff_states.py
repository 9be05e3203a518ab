"""The handoff's lifecycle: every change of a handoff's state, and every other write to its row, is a
function here.

A change runs inside the caller's transaction. It moves the row with one conditional UPDATE (the database
decides among concurrent attempts; the loser gets an `IllegalTransition` naming the states expected and
found), moves the conversation with it (`conversations/lifecycle.py`), clears `open_key` once the handoff
is over, ends and starts the assignments, writes the audit entry, and returns the events to publish once
the caller has committed. Rows are locked in the order conversation → handoff, after the agent's row
where the caller takes one (see `claims.py`), so no two transactions wait on each other in a circle.
"""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import events, pool
from agent_console.models import Assignment, Handoff, HandoffState
from conversations.events import Claimed, StatusChanged
from conversations.hub import conversation_topic
from conversations.lifecycle import transition
from conversations.models import ConversationStatus
from core import states
from core.bus import Outbox
from core.db import rowcount, utcnow
from staff import audit
from staff.models import Agent

H = HandoffState
S = ConversationStatus
ALLOWED: dict[HandoffState, frozenset[HandoffState]] = {
    H.ASSIGNED: frozenset({H.WAITING, H.ASSIGNED}),   # grabbed or pushed from the pool; transferred agent to agent
    H.WAITING: frozenset({H.ASSIGNED}),               # returned to the pool (a skill group, an agent gone)
    H.FINISHED: frozenset({H.ASSIGNED}),              # the agent handed it back to the bot
    H.CANCELLED: frozenset({H.WAITING, H.ASSIGNED}),  # the citizen left a message; the channel ended it
}
OVER = frozenset({H.FINISHED, H.CANCELLED})


class IllegalTransition(states.IllegalTransition):
    """Also raised when the handoff is in the expected state but held by another agent than the one named."""

    def __init__(self, handoff_id: int, target: HandoffState, expected: frozenset, found: str | None) -> None:
        self.handoff_id = handoff_id
        super().__init__(f"handoff {handoff_id}", target, expected, found)


async def _move(
    session: AsyncSession,
    handoff: Handoff,
    target: HandoffState,
    expected: frozenset[HandoffState],
    *,
    held_by: int | None = None,
    **values: object,
) -> None:
    allowed = states.allowed_before(ALLOWED, target, expected)
    changes = {"state": target, **values}
    if target in OVER:
        changes["open_key"] = None  # frees the conversation for its next handoff
    conditions = [Handoff.id == handoff.id, Handoff.state.in_([str(s) for s in allowed])]
    if held_by is not None:
        conditions.append(Handoff.agent_id == held_by)
    result = await session.execute(update(Handoff).where(*conditions).values(**changes))
    if rowcount(result) != 1:
        found = await session.scalar(select(Handoff.state).where(Handoff.id == handoff.id))
        raise IllegalTransition(handoff.id, target, allowed, found)


async def _end_assignments(session: AsyncSession, handoff: Handoff, end: str, *, agent_id: int | None = None) -> None:
    conditions = [Assignment.handoff_id == handoff.id, Assignment.ended_at.is_(None)]
    if agent_id is not None:
        conditions.append(Assignment.agent_id == agent_id)
    await session.execute(update(Assignment).where(*conditions).values(ended_at=utcnow(), end=end))


def _target(handoff: Handoff) -> str:
    return f"conversation:{handoff.conversation_id}"


def _now_held_by(handoff: Handoff, agent: Agent, how: str, *, note: str | None = None, by: str | None = None) -> Outbox:
    """The agent's consoles follow the conversation from now on; the phone line connects the caller."""
    return (
        Outbox()
        .add(events.agent_topic(agent.id), events.Assigned(conversation_id=handoff.conversation_id, how=how,
                                                           note=note, by=by))
        .add(conversation_topic(handoff.conversation_id),
             Claimed(agent_id=agent.id, agent_name=agent.display_name, agent_phone=agent.phone))
    )


# -- from the pool to an agent ---------------------------------------------------------------------

async def claim(session: AsyncSession, handoff: Handoff, agent: Agent, actor: audit.Actor) -> Outbox:
    """An agent grabs a waiting conversation."""
    return await _take(session, handoff, agent, "grab", actor)


async def push(session: AsyncSession, handoff: Handoff, agent: Agent) -> Outbox:
    """The escalation gives a conversation nobody grabbed to an agent."""
    return await _take(session, handoff, agent, "push", audit.SYSTEM)


async def _take(session: AsyncSession, handoff: Handoff, agent: Agent, how: str, actor: audit.Actor) -> Outbox:
    # The race among grabbers, in any number of processes, is decided here by the database: the
    # conversation's `waiting → human` is one conditional UPDATE, and exactly one attempt changes a row.
    await transition(session, handoff.conversation_id, S.HUMAN, expected=frozenset({S.WAITING}))
    now = utcnow()
    await _move(session, handoff, H.ASSIGNED, frozenset({H.WAITING}), agent_id=agent.id,
                claimed_at=func.coalesce(Handoff.claimed_at, now))
    session.add(Assignment(handoff_id=handoff.id, conversation_id=handoff.conversation_id, agent_id=agent.id,
                           how=how, started_at=now))
    audit.record(session, actor, how, _target(handoff), agent_id=agent.id,
                 waited_s=int((now - handoff.waiting_since).total_seconds()))
    # No name: every console on duty hears this, and who won a grab is for supervisors' views only.
    left_pool = events.PoolRemoved(conversation_id=handoff.conversation_id, reason="claimed", agent_id=agent.id)
    return Outbox().add(events.POOL, left_pool).extend(_now_held_by(handoff, agent, how))


async def transfer(
    session: AsyncSession, handoff: Handoff, to: Agent, *, from_agent_id: int, actor: audit.Actor, by: str,
    note: str | None,
) -> Outbox:
    """From the agent who holds it straight to a colleague (`by` is the giver's name, for the taker)."""
    await _move(session, handoff, H.ASSIGNED, frozenset({H.ASSIGNED}), held_by=from_agent_id, agent_id=to.id,
                note=note)
    await _end_assignments(session, handoff, "transferred", agent_id=from_agent_id)
    session.add(Assignment(handoff_id=handoff.id, conversation_id=handoff.conversation_id, agent_id=to.id,
                           how="transfer", started_at=utcnow()))
    audit.record(session, actor, "transfer", _target(handoff), to_agent_id=to.id, note=note or "")
    released = events.Released(conversation_id=handoff.conversation_id, reason="transferred")
    return _now_held_by(handoff, to, "transfer", note=note, by=by).add(events.agent_topic(from_agent_id), released)


# -- from an agent back to the pool ----------------------------------------------------------------

async def return_to_pool(
    session: AsyncSession, handoff: Handoff, *, from_agent_id: int, actor: audit.Actor, reason: str,
    skill: str | None = None, note: str | None = None,
) -> Outbox:
    """A transfer to a skill group (`reason` "transfer"), or an agent who went offline. The handoff keeps
    its first place in the queue (`queued_at`): the citizen has waited already."""
    await transition(session, handoff.conversation_id, S.WAITING, expected=frozenset({S.HUMAN}))
    now = utcnow()
    await _move(session, handoff, H.WAITING, frozenset({H.ASSIGNED}), held_by=from_agent_id, agent_id=None,
                skill=skill, note=note, waiting_since=now, escalated_at=None, notified_position=None)
    await _end_assignments(session, handoff, "transferred" if reason == "transfer" else "returned")
    action = "transfer" if reason == "transfer" else "return"
    audit.record(session, actor, action, _target(handoff), skill=skill or "", note=note or "", reason=reason)
    back = await session.get_one(Handoff, handoff.id, populate_existing=True)
    released = events.Released(conversation_id=handoff.conversation_id, reason=reason)
    return (
        Outbox()
        .add(events.POOL, events.PoolAdded(item=await pool_item(session, back)))
        .add(events.agent_topic(from_agent_id), released)
    )


async def pool_item(session: AsyncSession, handoff: Handoff) -> dict:
    """The handoff as the pool lists it (with the citizen's last words)."""
    preview = (await pool.last_citizen_texts(session, [handoff.conversation_id])).get(handoff.conversation_id, "")
    return pool.item(handoff, preview, utcnow())


# -- the end ----------------------------------------------------------------------------------------

async def finish(
    session: AsyncSession, handoff: Handoff, *, agent_id: int, actor: audit.Actor, bot_resumed: bool
) -> Outbox:
    """The agent hands the conversation back to the bot; the citizen is asked for a rating from now.
    A bot not resumed yet is retried by the console's clock (`resume_pending`)."""
    await transition(session, handoff.conversation_id, S.BOT, expected=frozenset({S.HUMAN}))
    now = utcnow()
    await _move(session, handoff, H.FINISHED, frozenset({H.ASSIGNED}), held_by=agent_id, finished_at=now,
                end_reason="finished", resume_pending=not bot_resumed, rating_requested_at=now)
    await _end_assignments(session, handoff, "finished")
    audit.record(session, actor, "finish", _target(handoff), bot_resumed=bot_resumed)
    return (
        Outbox()
        .add(conversation_topic(handoff.conversation_id), StatusChanged(status=S.BOT))
        .add(events.agent_topic(agent_id), events.Released(conversation_id=handoff.conversation_id, reason="finished"))
        .add(events.SUPERVISORS, events.StatsChanged())
    )


async def cancel_for_message(session: AsyncSession, handoff: Handoff) -> Outbox:
    """A waiting citizen chose to leave a message instead: out of the pool, back to the bot. The
    citizen's own choice, on record in their messages (no audit entry)."""
    await transition(session, handoff.conversation_id, S.BOT, expected=frozenset({S.WAITING}))
    await _move(session, handoff, H.CANCELLED, frozenset({H.WAITING}), finished_at=utcnow(), end_reason="message")
    return Outbox().add(events.POOL, events.PoolRemoved(conversation_id=handoff.conversation_id, reason="left"))


async def cancel_abandoned(session: AsyncSession, handoff: Handoff) -> Outbox:
    """The channel ended the conversation itself (a caller hung up, a citizen left): the handoff leaves
    the pool, and an agent holding it gets the seat back. The conversation has moved already."""
    held_by = handoff.agent_id
    await _move(session, handoff, H.CANCELLED, frozenset({H.WAITING, H.ASSIGNED}), finished_at=utcnow(),
                end_reason="left")
    await _end_assignments(session, handoff, "closed")
    audit.record(session, audit.SYSTEM, "cancel", _target(handoff), reason="left")
    outbox = Outbox().add(events.POOL, events.PoolRemoved(conversation_id=handoff.conversation_id, reason="left"))
    if held_by is not None:
        outbox.add(events.agent_topic(held_by), events.Released(conversation_id=handoff.conversation_id, reason="left"))
    return outbox


# -- bookkeeping on the row (no change of state) ---------------------------------------------------

async def rate(session: AsyncSession, handoff_id: int, score: int) -> Outbox | None:
    """The citizen's rating of a finished handoff, stored once; None when it was rated already."""
    stored = await session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.rated_at.is_(None))
        .values(rating=score, rated_at=utcnow())
    )
    if rowcount(stored) != 1:
        return None
    return Outbox().add(events.SUPERVISORS, events.StatsChanged())


async def mark_escalated(session: AsyncSession, handoff_id: int) -> bool:
    """Once per stay in the pool, for one process: True to the one that marked it."""
    changed = await session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.escalated_at.is_(None)).values(escalated_at=utcnow())
    )
    return rowcount(changed) == 1


async def mark_position_told(session: AsyncSession, handoff_id: int, told: int | None, position: int) -> bool:
    """True to the one process that tells the citizen this position (the last one told was `told`)."""
    told_now = Handoff.notified_position.is_(None) if told is None else Handoff.notified_position == told
    changed = await session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.state == H.WAITING, told_now)
        .values(notified_position=position)
    )
    return rowcount(changed) == 1


async def mark_resumed(session: AsyncSession, handoff_id: int) -> None:
    await session.execute(update(Handoff).where(Handoff.id == handoff_id).values(resume_pending=False))
