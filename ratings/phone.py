"""好差评 on the phone: keys 1-5 at the end of a call, after an agent, after the voice assistant, or after an
automated outbound call. The phone line asks through its `CallRater` seam (registered in
ratings/startup.py); the campaign engine, above the ratings, calls `PhoneRatings` directly.

Each call is one service event, `call:<CallSid>`: asked once, rated once (a replayed key press is a 409
inside `record_rating`, answered here as "already rated" with nothing changed)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.models import Handoff
from channels.voice.rating import ServedCall
from conversations.models import Channel, Conversation
from core.errors import ApiError
from ratings import record
from ratings.context import Ratings
from ratings.departments import department_for
from staff.models import Agent


def event_key(call_sid: str) -> str:
    return f"call:{call_sid[:64]}"


class PhoneRatings:
    """The phone line's rater (channels.voice.rating.CallRater)."""

    def __init__(self, ratings: Ratings) -> None:
        self._ratings = ratings

    async def ask(self, call: ServedCall) -> bool:
        async with self._ratings.sessions() as session:
            citizen_id, business, department = await _who(session, call)
            asked = await record.ask(
                self._ratings, session, event_key=event_key(call.call_sid), kind=call.kind, channel=Channel.PHONE,
                conversation_id=call.conversation_id, citizen_id=citizen_id, agent_id=call.agent_id,
                business=business, department=department,
            )
            return asked is not None

    async def rate(self, call: ServedCall, level: int) -> bool:
        async with self._ratings.sessions() as session:
            citizen_id, business, department = await _who(session, call)
            try:
                await record.record_rating(
                    self._ratings, session, event_key=event_key(call.call_sid), kind=call.kind,
                    channel=Channel.PHONE, level=level, business=business, department=department,
                    agent_id=call.agent_id, citizen_id=citizen_id, conversation_id=call.conversation_id,
                )
            except ApiError as refused:
                if refused.code == "already_rated":
                    return False
                raise
            return True


async def _who(session: AsyncSession, call: ServedCall) -> tuple[str | None, str | None, str]:
    """The citizen of the call's conversation, the business (the call's, else for an agent's call what the
    latest handoff of the conversation was about, as the chat ratings take it) and the department that
    answers for the call."""
    citizen_id, business, agent_department = None, call.business, None
    if call.conversation_id:
        citizen_id = await session.scalar(select(Conversation.citizen_id)
                                          .where(Conversation.id == call.conversation_id))
    if call.agent_id is not None:
        agent_department = await session.scalar(select(Agent.department).where(Agent.id == call.agent_id))
        if business is None and call.conversation_id:
            handoff = (await session.execute(
                select(Handoff.skill, Handoff.intent).where(Handoff.conversation_id == call.conversation_id)
                .order_by(Handoff.requested_at.desc(), Handoff.id.desc()).limit(1))).first()
            if handoff is not None:  # "ask_human" is the line's own request for a person, not a business
                business = handoff.skill or (handoff.intent if handoff.intent != "ask_human" else None)
    return citizen_id, business, department_for(business, agent_department)
