"""Callback tickets: a request for a person nobody could take (nobody on duty, or the citizen chose to
leave a message instead of waiting). Agents see open tickets in the pool when they come on duty."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_console import events, pool, ticket_states
from agent_console.context import Console
from agent_console.hours import ServiceHours
from agent_console.models import CallbackTicket, TicketState
from conversations.models import Author, Conversation, Identity, Message
from conversations.replies import Reply
from core.db import utcnow
from core.errors import ApiError
from core.settings import Settings
from staff.auth import Me

QUESTION_MESSAGES = 5
QUESTION_CHARS = 1000


def service_hours(settings: Settings) -> ServiceHours:
    return ServiceHours.from_settings(settings)  # a few string splits: cheaper than caching it right


async def open_ticket(
    console: Console, *, conversation: Conversation, reason: str, contact: str | None, origin: str = "no_agents"
) -> tuple[CallbackTicket, str]:
    """The conversation's open ticket (made now if it has none) and the promise to tell the citizen."""
    deadline, promise = service_hours(console.settings).next_contact(utcnow())
    async with console.sessions() as session:
        contact = contact or await _phone_of(session, conversation.citizen_id)
        ticket = CallbackTicket(
            conversation_id=conversation.id, citizen_id=conversation.citizen_id, channel=conversation.channel,
            open_key=conversation.id, state=TicketState.OPEN, reason=reason, origin=origin,
            question=await _question(session, conversation.id), contact=contact and contact[:64],
            promised_by=deadline,
        )
        session.add(ticket)
        try:
            await session.commit()
        except IntegrityError:  # one open ticket per conversation: a repeat request adds nothing
            await session.rollback()
            found = await session.execute(select(CallbackTicket).where(CallbackTicket.open_key == conversation.id))
            return found.scalar_one(), promise
    await console.bus.publish(events.POOL, events.TicketsChanged(ticket=pool.ticket_item(ticket)))
    return ticket, promise


async def _phone_of(session, citizen_id: str) -> str | None:
    return await session.scalar(
        select(Identity.value).where(Identity.citizen_id == citizen_id, Identity.kind == "phone").limit(1)
    )


async def _question(session, conversation_id: str) -> str:
    texts = (
        await session.scalars(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.author == Author.CITIZEN)
            .order_by(Message.id.desc())
            .limit(QUESTION_MESSAGES)
        )
    ).all()
    return "\n".join(reversed(texts))[-QUESTION_CHARS:]


async def _ticket(session, ticket_id: int) -> CallbackTicket:
    ticket = await session.get(CallbackTicket, ticket_id, populate_existing=True)
    if ticket is None:
        raise ApiError(404, "ticket_not_found", "回访单不存在。")
    return ticket


async def claim(console: Console, me: Me, ticket_id: int) -> dict:
    try:
        async with console.sessions() as session, session.begin():
            news = await ticket_states.claim(session, ticket_id, agent_id=me.id, actor=me.actor)
    except ticket_states.IllegalTransition as refused:
        if refused.found is None:
            raise ApiError(404, "ticket_not_found", "回访单不存在。") from None
        raise ApiError(409, "ticket_taken", "该回访单已被其他客服处理。", state=refused.found) from None
    await news.publish(console.bus)
    return await _item(console, ticket_id)


async def _item(console: Console, ticket_id: int) -> dict:
    async with console.sessions() as session:
        return pool.ticket_item(await _ticket(session, ticket_id))


async def _mine(session, me: Me, ticket_id: int) -> CallbackTicket:
    ticket = await _ticket(session, ticket_id)
    if ticket.state != TicketState.CLAIMED or ticket.agent_id != me.id:
        raise ApiError(403, "not_your_ticket", "只能处理自己领取的回访单。")
    return ticket


async def reply(console: Console, me: Me, ticket_id: int, text: str) -> dict:
    """Answer the citizen in their conversation (pushed: WeChat, the app's next poll, the web page)."""
    async with console.sessions() as session:
        ticket = await _mine(session, me, ticket_id)
        ticket_states.reply(session, ticket, actor=me.actor, chars=len(text))
        await session.commit()
    message = await console.hub.send(ticket.conversation_id, ticket.channel, Author.AGENT, Reply(text=text), push=True)
    return message.to_dict()


async def done(console: Console, me: Me, ticket_id: int, note: str | None) -> dict:
    async with console.sessions() as session, session.begin():
        await _mine(session, me, ticket_id)
        try:
            news = await ticket_states.done(session, ticket_id, agent_id=me.id, actor=me.actor, note=note)
        except ticket_states.IllegalTransition:
            raise ApiError(409, "ticket_changed", "回访单状态已变化，请刷新。") from None
    await news.publish(console.bus)
    return await _item(console, ticket_id)
