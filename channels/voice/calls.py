"""Call state between webhooks, kept in the database so any service instance can take the next one.

Replays: every action URL the service hands Twilio carries the call's next step (`s=`), and Twilio
signs that URL. A webhook acts only if it wins the conditional UPDATE that moves the call past its
step; a replay of the same signed request (a Twilio retry, or someone resending a captured one)
loses, acts on nothing and gets the TwiML the first one produced.
"""
from __future__ import annotations

import asyncio
import time

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.voice.models import VoiceCall, VoiceCallEvent
from core.db import rowcount, utcnow
from core.metrics import CALLS

ANSWERED = frozenset({"in-progress", "answered"})
FINISHED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


class CallStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessionmaker

    async def create(self, call: VoiceCall) -> bool:
        """False if the call already exists (a replayed or retried inbound webhook)."""
        async with self._sessions() as session:
            session.add(call)
            try:
                await session.commit()
                return True
            except IntegrityError:
                await session.rollback()
                return False

    async def get(self, call_sid: str) -> VoiceCall | None:
        async with self._sessions() as session:
            return await session.get(VoiceCall, call_sid)

    async def by_conversation(self, conversation_id: str) -> VoiceCall | None:
        """The latest call of a conversation."""
        async with self._sessions() as session:
            query = (
                select(VoiceCall)
                .where(VoiceCall.conversation_id == conversation_id)
                .order_by(VoiceCall.created_at.desc())
                .limit(1)
            )
            return await session.scalar(query)

    async def claim(self, call_sid: str, step: int) -> bool:
        """Take step `step` of the call: exactly one request with this step wins."""
        async with self._sessions() as session:
            result = await session.execute(
                update(VoiceCall)
                .where(VoiceCall.call_sid == call_sid, VoiceCall.step == step)
                .values(step=step + 1, last_twiml=None)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            return rowcount(result) == 1

    async def update(self, call_sid: str, **values: object) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(VoiceCall)
                .where(VoiceCall.call_sid == call_sid)
                .values(updated_at=utcnow(), **values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def answer_of(self, call_sid: str, wait_s: float) -> str | None:
        """The TwiML of the call's latest step, waiting a little if the winner is still working on it."""
        deadline = time.monotonic() + wait_s
        while True:
            call = await self.get(call_sid)
            if call is None or call.last_twiml is not None or time.monotonic() >= deadline:
                return call.last_twiml if call else None
            await asyncio.sleep(0.1)

    async def record_status(self, call_sid: str, status: str, sequence: int | None, duration_s: int | None) -> bool:
        """Store one status callback; False if this status was already stored for the call."""
        async with self._sessions() as session:
            session.add(VoiceCallEvent(call_sid=call_sid, status=status, sequence=sequence, duration_s=duration_s))
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
                return False
            values: dict[str, object] = {"status": status, "updated_at": utcnow()}
            if status in FINISHED:
                values |= {"completed_at": utcnow(), "duration_s": duration_s}
                CALLS.labels("inbound", status).inc()  # once: a retried callback was refused above
            await session.execute(update(VoiceCall).where(VoiceCall.call_sid == call_sid).values(**values))
            if status in ANSWERED:
                await session.execute(
                    update(VoiceCall)
                    .where(VoiceCall.call_sid == call_sid, VoiceCall.answered_at.is_(None))
                    .values(answered_at=utcnow())
                )
            await session.commit()
            return True
