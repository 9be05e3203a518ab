"""The agent pool's desk behind the handoff contract (`conversations/handoff.py`).

With an agent on duty the conversation moves to `waiting` (the hub stops asking the bot) and enters
the pool; with nobody on duty it stays with the bot and a callback ticket keeps the citizen's question
and contact. Either way the outcome carries the Chinese text to tell the citizen.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import callbacks, events, handoff_states, pool
from agent_console.context import Console
from agent_console.models import CallbackTicket, Handoff, HandoffState, Reason
from conversations.bot_client import BotUnavailable
from conversations.handoff import HandoffOutcome
from conversations.lifecycle import IllegalTransition, transition
from conversations.models import Conversation, ConversationStatus
from core.db import utcnow
from core.errors import ApiError

log = logging.getLogger(__name__)

# Rasa's own bookkeeping, not something the citizen told us.
_INTERNAL_SLOTS = {"requested_slot", "session_started_metadata", "failed_turns"}


class HandoffRefused(ApiError):
    pass


async def request_handoff(
    console: Console,
    *,
    conversation_id: str,
    reason: str,
    intent: str | None = None,
    slots: dict[str, Any] | None = None,
    contact: str | None = None,
) -> HandoffOutcome:
    if reason not in set(Reason):
        raise HandoffRefused(422, "invalid_reason", "转人工原因不正确。")
    async with console.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise HandoffRefused(404, "conversation_not_found", "会话不存在。")
        if (already := await _already(session, conversation)) is not None:
            return already
        await _check_flood(console, session, conversation.citizen_id)
        staff = await pool.staffing(session)
    if not staff.staffed:
        return await _callback(console, conversation, reason, contact)
    if slots is None or intent is None:
        intent, slots = await _from_tracker(console, conversation_id, intent, slots)
    return await _queue(console, conversation, reason, intent, _clean_slots(slots), contact, staff)


async def _already(session: AsyncSession, conversation: Conversation) -> HandoffOutcome | None:
    if conversation.status == ConversationStatus.HUMAN:
        return HandoffOutcome("already_with_agent", None, None, None, "人工客服正在为您服务，请直接输入您的问题。")
    if conversation.status != ConversationStatus.WAITING:
        if conversation.status == ConversationStatus.CLOSED:
            raise HandoffRefused(409, "conversation_closed", "会话已结束，请重新发起咨询。")
        return None
    handoff = await pool.open_handoff(session, conversation.id)
    if handoff is None:  # between the status change and the pool row of a concurrent request
        return HandoffOutcome("already_waiting", None, None, None, "您已在人工客服队列中，请稍候。")
    position = await pool.position_of(session, handoff)
    wait = await pool.estimate_for(session, position)
    return HandoffOutcome("already_waiting", position, wait, None, queued_message(position, wait, again=True))


async def _check_flood(console: Console, session: AsyncSession, citizen_id: str) -> None:
    settings = console.settings
    since = utcnow() - timedelta(minutes=settings.console_handoff_window_minutes)
    handoffs = await session.scalar(
        select(func.count()).where(Handoff.citizen_id == citizen_id, Handoff.requested_at >= since)
    )
    tickets = await session.scalar(
        select(func.count()).where(
            CallbackTicket.citizen_id == citizen_id, CallbackTicket.origin == "no_agents",
            CallbackTicket.created_at >= since,
        )
    )
    if (handoffs or 0) + (tickets or 0) >= settings.console_handoff_limit:
        raise HandoffRefused(
            429, "too_many_handoffs", f"转人工请求过于频繁，请稍后再试；急事请拨打服务热线 {settings.hotline}。"
        )


async def _from_tracker(
    console: Console, conversation_id: str, intent: str | None, slots: dict[str, Any] | None
) -> tuple[str | None, dict[str, Any]]:
    """Fill in what the caller did not send from Rasa's tracker (best effort: a handoff never waits
    long on the bot)."""
    try:
        tracker = await console.bot.tracker(conversation_id, timeout_s=1.5)
    except BotUnavailable as exc:
        log.info("no tracker for conversation %s: %s", conversation_id, exc)
        return intent, slots or {}
    latest = (tracker.get("latest_message") or {}).get("intent") or {}
    tracked = tracker.get("slots")
    found: dict[str, Any] = tracked if isinstance(tracked, dict) else {}
    return intent or latest.get("name"), slots if slots is not None else found


def _clean_slots(slots: dict | None) -> dict:
    if not isinstance(slots, dict):
        return {}
    return {
        str(k)[:64]: v for k, v in slots.items()
        if v not in (None, "", []) and k not in _INTERNAL_SLOTS and isinstance(v, (str, int, float, bool))
    }


async def _priority(session: AsyncSession, console: Console, citizen_id: str, reason: str) -> int:
    if reason == Reason.COMPLAINT:
        return pool.PRIORITY_COMPLAINT
    hours = console.settings.console_returning_hours
    if hours:
        since = utcnow() - timedelta(hours=hours)
        returning = await session.scalar(
            select(func.count()).where(
                Handoff.citizen_id == citizen_id, Handoff.state == HandoffState.FINISHED, Handoff.finished_at >= since
            )
        )
        if returning:
            return pool.PRIORITY_RETURNING
    return 0


async def _queue(
    console: Console, conversation: Conversation, reason: str, intent: str | None, slots: dict, contact: str | None,
    staff: pool.Staffing,
) -> HandoffOutcome:
    async with console.sessions() as session:
        now = utcnow()
        handoff = Handoff(
            conversation_id=conversation.id, citizen_id=conversation.citizen_id, channel=conversation.channel,
            state=HandoffState.WAITING, open_key=conversation.id, reason=reason,
            priority=await _priority(session, console, conversation.citizen_id, reason),
            intent=(intent or None) and intent[:64], slots=slots, contact=(contact or None) and contact[:64],
            requested_at=now, queued_at=now, waiting_since=now,
        )
        session.add(handoff)
        try:
            await session.flush()
            await transition(
                session, conversation.id, ConversationStatus.WAITING, expected=frozenset({ConversationStatus.BOT})
            )
        except (IntegrityError, IllegalTransition):
            # Another request (another process) queued it first, or an agent already has it.
            await session.rollback()
            fresh = await session.get_one(Conversation, conversation.id, populate_existing=True)
            return await _already(session, fresh) or HandoffOutcome(
                "already_waiting", None, None, None, "您已在人工客服队列中，请稍候。"
            )
        position = await pool.position_of(session, handoff)
        wait = await pool.estimate_for(session, position, staff)
        handoff.notified_position = position
        await session.commit()
        item = await handoff_states.pool_item(session, handoff)
    await console.bus.publish(events.POOL, events.PoolAdded(item=item))
    return HandoffOutcome("queued", position, wait, None, queued_message(position, wait))


def queued_message(position: int, wait: int | None, *, again: bool = False) -> str:
    where = "您是下一位" if position <= 1 else f"您前面还有{position - 1}位"
    opening = "您已在人工客服队列中" if again else "正在为您转接人工客服"
    return (
        f"{opening}，{where}，预计等待{pool.say_wait(wait)}。排队期间可以继续输入您的问题，客服接入后都能看到；"
        "不想等待可以回复“留言”，我们会尽快联系您。"
    )


async def _callback(console: Console, conversation: Conversation, reason: str, contact: str | None) -> HandoffOutcome:
    ticket, promise = await callbacks.open_ticket(
        console, conversation=conversation, reason=reason, contact=contact
    )
    hours = callbacks.service_hours(console.settings)
    reach = "，回复会发到这里" if not ticket.contact else ""
    message = (
        f"目前没有人工客服在线（人工服务时间：{hours.describe()}）。已为您登记留言（编号{ticket.id}），"
        f"工作人员将在{promise}联系您{reach}。您也可以继续向我提问，急事请拨打服务热线 {console.settings.hotline}。"
    )
    return HandoffOutcome("callback", None, None, ticket.id, message)
