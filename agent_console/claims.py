"""Taking conversations: grabbing from the pool, the escalation push, transfers and returns to the pool.

Every assignment is one transaction that
1. writes the agent's row first (`last_assigned_at`): on PostgreSQL that locks the row, so two
   assignments to the same agent run one after the other and the capacity check below sees the first;
   on SQLite the write takes the database's write lock, with the same effect;
2. checks duty and capacity (open assignments < capacity) inside that transaction;
3. takes the handoff (`handoff_states`), which moves the conversation `waiting → human` with one
   conditional UPDATE: among any number of concurrent grabbers, in any number of processes, exactly one
   sees a row changed.
Locks are always taken in the order agent → conversation → handoff, so transactions cannot deadlock.
The events of each change are published after its commit.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import handoff_states
from agent_console.context import Console
from agent_console.models import Assignment, HandoffState, Shift, ShiftState
from agent_console.pool import open_handoff
from conversations.models import Author, Conversation, ConversationStatus
from conversations.replies import Reply
from core.bus import Outbox
from core.db import rowcount, utcnow
from core.errors import ApiError
from core.metrics import GRAB_SECONDS, HANDOFF_WAIT
from core.states import IllegalTransition
from staff import audit
from staff.auth import Me
from staff.models import Agent

log = logging.getLogger(__name__)
S = ConversationStatus


@dataclass(frozen=True)
class Taken:
    conversation_id: str
    channel: str
    handoff_id: int
    agent_id: int
    agent_name: str
    agent_phone: str | None
    how: str  # grab | push | transfer


async def _lock_agent_with_room(session: AsyncSession, agent_id: int, *, pushed: bool = False) -> Agent:
    locked = await session.execute(
        update(Agent).where(Agent.id == agent_id, Agent.active.is_(True)).values(last_assigned_at=utcnow())
    )
    if rowcount(locked) != 1:
        raise ApiError(404, "agent_not_found", "该客服账号不存在或已停用。")
    agent = await session.get_one(Agent, agent_id, populate_existing=True)
    duty = await session.scalar(select(Shift.state).where(Shift.open_key == agent_id))
    if duty != ShiftState.ON_DUTY:
        who = "对方" if pushed else "您"
        if duty == ShiftState.ON_BREAK:
            raise ApiError(403, "on_break", f"{who}正在小休，暂不接入新会话。")
        raise ApiError(403, "not_on_duty", f"{who}当前不在岗，请先申请上班。" if not pushed else "对方当前不在岗。")
    held = await session.scalar(
        select(func.count()).select_from(Assignment)
        .where(Assignment.agent_id == agent_id, Assignment.ended_at.is_(None))
    )
    if (held or 0) >= agent.capacity:
        who = "对方" if pushed else "您"
        raise ApiError(
            409, "at_capacity", f"{who}同时接待的会话已达上限（{agent.capacity}个），请先结束一个会话。",
            capacity=agent.capacity,
        )
    return agent


async def _state_of(session: AsyncSession, conversation_id: str) -> str | None:
    """The conversation's status (None: no such conversation)."""
    return await session.scalar(select(Conversation.status).where(Conversation.id == conversation_id))


def _refusal(status: str | None) -> ApiError:
    # Who won is not the loser's business (nor a way to map colleagues' work): supervisors see who
    # holds what in their own views.
    if status is None:
        return ApiError(404, "conversation_not_found", "会话不存在。")
    if status == S.HUMAN:
        return ApiError(409, "already_taken", "手慢了，该会话已被其他客服接入。")
    return ApiError(409, "not_waiting", "该会话已不在等待队列中（市民已离开或会话已结束）。")


async def _not_waiting(session: AsyncSession, conversation_id: str) -> ApiError:
    """Why a conversation cannot be grabbed, read after the failed attempt (sees the winner's commit)."""
    return _refusal(await _state_of(session, conversation_id))


async def _take_from_pool(
    session: AsyncSession, conversation_id: str, agent: Agent, how: str, actor: audit.Actor
) -> tuple[Taken, Outbox]:
    handoff = await open_handoff(session, conversation_id)
    if handoff is None or handoff.state != HandoffState.WAITING:
        raise await _not_waiting(session, conversation_id)
    if how == "grab" and handoff.skill and handoff.skill not in (agent.skills or []):
        raise ApiError(403, "skill_required", f"该会话已转给“{handoff.skill}”技能组，需由该组客服接入。")
    try:
        if how == "grab":
            news = await handoff_states.claim(session, handoff, agent, actor)
        else:
            news = await handoff_states.push(session, handoff, agent)
    except IllegalTransition:  # another agent was faster
        raise await _not_waiting(session, conversation_id) from None
    HANDOFF_WAIT.labels(how).observe(max((utcnow() - handoff.waiting_since).total_seconds(), 0.0))
    return Taken(conversation_id, handoff.channel, handoff.id, agent.id, agent.display_name, agent.phone, how), news


async def claim(console: Console, me: Me, conversation_id: str) -> Taken:
    """Grab a waiting conversation: 200 to exactly one agent, 409 to everyone else."""
    started = time.perf_counter()
    try:
        taken = await _grab(console, me, conversation_id)
    except ApiError:
        GRAB_SECONDS.labels("refused").observe(time.perf_counter() - started)
        raise
    GRAB_SECONDS.labels("won").observe(time.perf_counter() - started)
    return taken


async def _grab(console: Console, me: Me, conversation_id: str) -> Taken:
    async with console.sessions() as session:
        # A read first: once someone has it, the rest of a burst is answered without writing anything.
        status = await _state_of(session, conversation_id)
    if status != S.WAITING:
        raise _refusal(status)
    async with console.sessions() as session, session.begin():
        agent = await _lock_agent_with_room(session, me.id)
        taken, news = await _take_from_pool(session, conversation_id, agent, "grab", me.actor)
    await announce(console, taken, news)
    return taken


async def push(console: Console, conversation_id: str, agent_id: int) -> Taken | None:
    """The escalation: give a conversation nobody grabbed to this agent, if they still have room."""
    try:
        async with console.sessions() as session, session.begin():
            agent = await _lock_agent_with_room(session, agent_id, pushed=True)
            taken, news = await _take_from_pool(session, conversation_id, agent, "push", audit.SYSTEM)
    except ApiError as error:
        log.info("push of %s to agent %s refused: %s", conversation_id, agent_id, error.code)
        return None
    await announce(console, taken, news)
    return taken


async def transfer_to_agent(
    console: Console, me: Me, conversation_id: str, to_agent_id: int, note: str | None
) -> Taken:
    if to_agent_id == me.id:
        raise ApiError(422, "transfer_to_self", "不能转给自己。")
    async with console.sessions() as session, session.begin():
        agent = await _lock_agent_with_room(session, to_agent_id, pushed=True)
        handoff = await open_handoff(session, conversation_id)
        refused = ApiError(403, "not_your_conversation", "该会话不在您的接待中，无法转接。")
        if handoff is None:
            raise refused
        try:
            news = await handoff_states.transfer(session, handoff, agent, from_agent_id=me.id, actor=me.actor,
                                                 by=me.display_name, note=note)
        except IllegalTransition:
            raise refused from None
        taken = Taken(
            conversation_id, handoff.channel, handoff.id, agent.id, agent.display_name, agent.phone, "transfer"
        )
    await announce(console, taken, news)
    return taken


async def return_to_pool(
    console: Console, conversation_id: str, *, from_agent: int, actor: audit.Actor, reason: str,
    skill: str | None = None, note: str | None = None,
) -> None:
    """Put a held conversation back in the pool (a transfer to a skill group, or an agent who went
    offline). It keeps its first place in the queue: the citizen has waited already."""
    async with console.sessions() as session, session.begin():
        handoff = await open_handoff(session, conversation_id)
        if handoff is None or handoff.state != HandoffState.ASSIGNED or handoff.agent_id != from_agent:
            raise ApiError(403, "not_your_conversation", "该会话不在您的接待中。")
        try:
            news = await handoff_states.return_to_pool(session, handoff, from_agent_id=from_agent, actor=actor,
                                                       reason=reason, skill=skill, note=note)
        except IllegalTransition:
            raise ApiError(409, "conversation_changed", "会话状态已变化，请刷新。") from None
    await news.publish(console.bus)
    text = "正在为您转接其他客服，请稍候。" if reason == "transfer" else "客服暂时离开，正在为您安排其他客服，请稍候。"
    await console.hub.send(conversation_id, handoff.channel, Author.SYSTEM, Reply(text=text), push=True)


async def announce(console: Console, taken: Taken, news: Outbox) -> None:
    """Tell everyone who needs to know, after the commit: the consoles and channels (the change's events),
    then the citizen."""
    await news.publish(console.bus)
    text = (
        f"已为您转接客服“{taken.agent_name}”，请继续描述您的问题。" if taken.how == "transfer"
        else f"人工客服“{taken.agent_name}”已接入，正在为您服务。"
    )
    await console.hub.send(taken.conversation_id, taken.channel, Author.SYSTEM,
                           Reply(text=text, meta={"agent": {"name": taken.agent_name}}), push=True)
