"""An agent's work on a conversation they hold: the handoff packet, replies, and the hand-back to the bot
(Rasa resumed, then the citizen asked for a rating)."""
from __future__ import annotations

import logging

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import handoff_states
from agent_console.context import Console
from agent_console.models import Assignment, Handoff, HandoffState
from agent_console.pool import last_citizen_texts, open_handoff
from conversations.bot_client import BotUnavailable
from conversations.models import Author, Conversation, ConversationStatus, Identity, Message
from conversations.replies import Reply
from core.db import utcnow
from core.errors import ApiError
from core.states import IllegalTransition
from staff import audit
from staff.auth import Me
from staff.models import Agent, Role

log = logging.getLogger(__name__)
S = ConversationStatus
TRANSCRIPT_LIMIT = 500
EARLIER_LIMIT = 20
# Without ratings running (a console on its own): the national scale's words, best first; "5" means 非常满意.
RATING_BUTTONS = [
    {"title": title, "payload": str(n)}
    for n, title in zip((5, 4, 3, 2, 1), ("非常满意", "满意", "基本满意", "不满意", "非常不满意"), strict=True)
]
RATING_TEXT = "本次人工服务已结束，智能客服将继续为您服务。请为刚才的人工服务打分：回复数字1–5（5分为非常满意）。"


async def owned(session: AsyncSession, me: Me, conversation_id: str) -> Handoff:
    """The open handoff of a conversation `me` holds; anything else is refused the same way."""
    handoff = await open_handoff(session, conversation_id)
    if handoff is None or handoff.state != HandoffState.ASSIGNED or handoff.agent_id != me.id:
        if handoff is None and await session.get(Conversation, conversation_id) is None:
            raise ApiError(404, "conversation_not_found", "会话不存在。")
        raise ApiError(403, "not_your_conversation", "该会话不在您的接待中，无法操作。")
    return handoff


async def may_read(session: AsyncSession, me: Me, conversation: Conversation) -> bool:
    """Supervisors read any conversation; an agent reads those of citizens they are serving now."""
    if me.can(Role.SUPERVISOR):
        return True
    held = await session.scalar(
        select(func.count()).where(
            Handoff.citizen_id == conversation.citizen_id, Handoff.state == HandoffState.ASSIGNED,
            Handoff.agent_id == me.id,
        )
    )
    return bool(held)


# -- reading -----------------------------------------------------------------------------------------

async def packet(console: Console, me: Me, conversation_id: str) -> dict:
    """Everything an agent needs to take over: transcript with the bot's turns, intent, slots, channel,
    the citizen's identities and earlier conversations, and why the handoff happened."""
    async with console.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise ApiError(404, "conversation_not_found", "会话不存在。")
        if not await may_read(session, me, conversation):
            raise ApiError(403, "not_your_conversation", "该会话不在您的接待中，无法查看。")
        handoff = await open_handoff(session, conversation_id) or await session.scalar(
            select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id.desc()).limit(1)
        )
        owner = await session.get(Agent, handoff.agent_id) if handoff and handoff.agent_id else None
        identities = (
            await session.scalars(select(Identity).where(Identity.citizen_id == conversation.citizen_id))
        ).all()
        earlier = await _earlier(session, conversation)
        mine = bool(handoff and handoff.state == HandoffState.ASSIGNED and handoff.agent_id == me.id)
        mode = "owner" if mine else "read_only"
        audit.record(session, me.actor, "read", f"conversation:{conversation_id}", mode=mode)
        await session.commit()
    transcript = await console.hub.history(conversation_id, limit=TRANSCRIPT_LIMIT)
    return {
        "conversation": {
            "id": conversation.id, "channel": conversation.channel, "status": conversation.status,
            "created_at": conversation.created_at.isoformat(),
        },
        "mode": mode,
        "citizen": {
            "id": conversation.citizen_id,
            "identities": [{"kind": i.kind, "value": i.value} for i in identities],
        },
        "handoff": _handoff_dict(handoff, owner),
        "earlier_conversations": earlier,
        "transcript": [m.to_dict() for m in transcript],
    }


def _handoff_dict(handoff: Handoff | None, owner: Agent | None) -> dict | None:
    if handoff is None:
        return None
    return {
        "id": handoff.id, "state": handoff.state, "reason": handoff.reason, "priority": handoff.priority,
        "intent": handoff.intent, "slots": handoff.slots or {}, "contact": handoff.contact, "skill": handoff.skill,
        "note": handoff.note, "queued_at": handoff.queued_at.isoformat(),
        "claimed_at": handoff.claimed_at.isoformat() if handoff.claimed_at else None,
        "agent": {"id": owner.id, "display_name": owner.display_name} if owner else None,
        "rating": handoff.rating,
    }


async def _earlier(session: AsyncSession, conversation: Conversation) -> list[dict]:
    others = (
        await session.scalars(
            select(Conversation)
            .where(Conversation.citizen_id == conversation.citizen_id, Conversation.id != conversation.id)
            .order_by(Conversation.created_at.desc())
            .limit(EARLIER_LIMIT)
        )
    ).all()
    ids = [c.id for c in others]
    counts = dict(
        (await session.execute(
            select(Message.conversation_id, func.count()).where(Message.conversation_id.in_(ids))
            .group_by(Message.conversation_id)
        )).all()
    ) if ids else {}
    reasons = dict(
        (await session.execute(
            select(Handoff.conversation_id, func.max(Handoff.reason)).where(Handoff.conversation_id.in_(ids))
            .group_by(Handoff.conversation_id)
        )).all()
    ) if ids else {}
    previews = await last_citizen_texts(session, ids)
    return [
        {
            "id": c.id, "channel": c.channel, "status": c.status, "created_at": c.created_at.isoformat(),
            "messages": counts.get(c.id, 0), "last_citizen_text": previews.get(c.id, ""),
            "handoff_reason": reasons.get(c.id),
        }
        for c in others
    ]


async def mine(console: Console, me: Me) -> list[dict]:
    async with console.sessions() as session:
        handoffs = (
            await session.scalars(
                select(Handoff).where(Handoff.state == HandoffState.ASSIGNED, Handoff.agent_id == me.id)
                .order_by(Handoff.claimed_at)
            )
        ).all()
        previews = await last_citizen_texts(session, [h.conversation_id for h in handoffs])
    return [
        {
            "conversation_id": h.conversation_id, "channel": h.channel, "reason": h.reason, "note": h.note,
            "queued_at": h.queued_at.isoformat(), "preview": previews.get(h.conversation_id, ""),
        }
        for h in handoffs
    ]


# -- acting ------------------------------------------------------------------------------------------

async def send(console: Console, me: Me, conversation_id: str, text: str, links: list[dict]) -> dict:
    async with console.sessions() as session:
        handoff = await owned(session, me, conversation_id)
        now = utcnow()
        await session.execute(
            update(Assignment)
            .where(Assignment.handoff_id == handoff.id, Assignment.agent_id == me.id, Assignment.ended_at.is_(None),
                   Assignment.first_response_at.is_(None))
            .values(first_response_at=now)
        )
        await session.commit()
    reply = Reply(text=text, links=links, meta={"agent": {"name": me.display_name}})
    message = await console.hub.send(conversation_id, handoff.channel, Author.AGENT, reply, push=True)
    async with console.sessions() as session:
        audit.record(session, me.actor, "message", f"conversation:{conversation_id}", message_id=message.id,
                     chars=len(text), links=len(links))
        await session.commit()
    return message.to_dict()


async def resume_bot(console: Console, conversation_id: str) -> bool:
    """Resume Rasa and put it back to listening: paused right after `action_handoff`, its tracker lacks
    the `action_listen` that ends a turn, and without it the next message is read as more of that turn."""
    try:
        await console.bot.append_event(conversation_id, {"event": "resume"})
        await console.bot.append_event(conversation_id, {"event": "action", "name": "action_listen"})
        return True
    except BotUnavailable as exc:
        log.warning("could not resume the bot for conversation %s: %s", conversation_id, exc)
        return False


async def finish(console: Console, me: Me, conversation_id: str) -> dict:
    """Hand the conversation back to the bot. Rasa is resumed before the conversation leaves `human`,
    so no citizen message can reach a still-paused bot; a failed resume is retried in the background."""
    async with console.sessions() as session:
        handoff = await owned(session, me, conversation_id)
    resumed = await resume_bot(console, conversation_id)
    async with console.sessions() as session, session.begin():
        try:
            news = await handoff_states.finish(session, handoff, agent_id=me.id, actor=me.actor, bot_resumed=resumed)
        except IllegalTransition:
            raise ApiError(409, "conversation_changed", "会话状态已变化，请刷新。") from None
    await news.publish(console.bus)
    request: Reply | None
    if console.rating_asker is not None:
        request = await console.rating_asker(handoff)
    else:
        request = Reply(text=RATING_TEXT, buttons=RATING_BUTTONS,
                        meta={"rating_request": {"conversation_id": conversation_id}})
    if request is not None:
        await console.hub.send(conversation_id, handoff.channel, Author.SYSTEM, request, push=True)
    return {"conversation_id": conversation_id, "status": S.BOT, "bot_resumed": resumed}
