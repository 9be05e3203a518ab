"""The console's clock, run in every service process: escalation of conversations nobody grabbed, the
end of duty, queue positions for waiting citizens, retries of a failed bot resume, and the pool's
clean-up after a channel ended a conversation itself.

Several processes run this loop at once. Each step decides with a conditional UPDATE (or through the
claim transaction), so whatever they find, exactly one process acts on each thing.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import select

from agent_console import claims, duty, events, handoff_states, pool
from agent_console.context import Console
from agent_console.conversations import resume_bot
from agent_console.handoff import queued_message
from agent_console.models import Handoff, HandoffState, Shift, ShiftState
from conversations.models import Author, Conversation, ConversationStatus
from conversations.replies import Reply
from core.db import utcnow
from core.states import IllegalTransition
from staff import audit
from staff.models import Agent

log = logging.getLogger(__name__)
S = ConversationStatus
# Near the front every change is worth telling; further back, only a real move (no message storm
# when one of a thousand waiting citizens is taken).
TELL_EVERY_CHANGE_UP_TO = 20
TELL_FAR_MOVES_OF = 5
RESUME_RETRY_FOR = timedelta(hours=1)
RESUME_RETRY_EVERY_S = 15.0  # a down Rasa is not asked every tick
LEAVE_BUTTON = [{"title": "不等了，留言", "payload": "留言"}]


class Clock:
    def __init__(self, console: Console) -> None:
        self._console = console
        self._task: asyncio.Task | None = None
        self._next_resume_retry = 0.0  # pacing only: which process retries does not matter

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="console-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("console clock tick failed")  # the next tick tries again
            await asyncio.sleep(self._console.settings.console_tick_s)

    async def tick(self) -> None:
        await self.end_duty()
        await self.drop_abandoned()
        await self.escalate()
        await self.tell_positions()
        await self.retry_resumes()

    # -- duty ------------------------------------------------------------------------------------

    async def end_duty(self) -> None:
        for agent_id, shift_id, reason in await duty.due_to_end(self._console):
            ended = await duty.end(self._console, agent_id, audit.SYSTEM, reason, shift_id=shift_id)
            if ended and reason == "inactive":
                await self._return_held(agent_id)

    async def _return_held(self, agent_id: int) -> None:
        """An agent whose console is gone cannot answer: their citizens go back to the front of the pool."""
        async with self._console.sessions() as session:
            held = (await session.scalars(
                select(Handoff.conversation_id)
                .where(Handoff.state == HandoffState.ASSIGNED, Handoff.agent_id == agent_id)
            )).all()
        for conversation_id in held:
            try:
                await claims.return_to_pool(self._console, conversation_id, from_agent=agent_id, actor=audit.SYSTEM,
                                            reason="agent_offline")
            except Exception as exc:  # finished or moved meanwhile
                log.info("could not return %s to the pool: %s", conversation_id, exc)

    # -- the pool --------------------------------------------------------------------------------

    async def drop_abandoned(self) -> None:
        """A channel may end a conversation itself (a caller hangs up, a citizen leaves the queue): its
        handoff leaves the pool, and the agent holding it gets the seat back."""
        async with self._console.sessions() as session:
            abandoned = (await session.scalars(
                select(Handoff)
                .join(Conversation, Conversation.id == Handoff.conversation_id)
                .where(Handoff.state.in_([HandoffState.WAITING, HandoffState.ASSIGNED]),
                       Conversation.status.in_([S.BOT, S.CLOSED]))
            )).all()
            for handoff in abandoned:
                try:
                    news = await handoff_states.cancel_abandoned(session, handoff)
                except IllegalTransition:
                    continue  # another process was first
                await session.commit()
                await news.publish(self._console.bus)

    async def escalate(self) -> None:
        """Push each conversation waiting longer than CONSOLE_ESCALATE_AFTER_S to the least-busy agent
        on duty with room, and alert the supervisors once per stay in the pool."""
        settings = self._console.settings
        cutoff = utcnow() - timedelta(seconds=settings.console_escalate_after_s)
        async with self._console.sessions() as session:
            overdue = (await session.execute(
                select(Handoff.id, Handoff.conversation_id, Handoff.skill, Handoff.waiting_since, Handoff.escalated_at)
                .where(Handoff.state == HandoffState.WAITING, Handoff.waiting_since <= cutoff)
                .order_by(*pool.ORDER)
            )).all()
        for handoff_id, conversation_id, skill, waiting_since, escalated_at in overdue:
            # The first escalation of a stay in the pool is one process's (it alerts); later rounds, when
            # nobody had room, anyone may push: the claim transaction decides.
            first = escalated_at is None and await self._mark_escalated(handoff_id)
            if escalated_at is None and not first:
                continue
            taken = None
            for agent_id in await self._least_busy(skill):
                taken = await claims.push(self._console, conversation_id, agent_id)
                if taken is not None:
                    break
            if first:
                waited = int((utcnow() - waiting_since).total_seconds())
                await self._console.bus.publish(events.SUPERVISORS, events.Alert(
                    kind="escalated", conversation_id=conversation_id, waited_s=waited,
                    assigned_to=taken.agent_name if taken else None,
                    message=(f"会话等待{waited}秒无人接入，已推送给“{taken.agent_name}”。" if taken
                             else f"会话等待{waited}秒无人接入，且没有空闲客服，请安排处理。"),
                ))

    async def _mark_escalated(self, handoff_id: int) -> bool:
        async with self._console.sessions() as session:
            marked = await handoff_states.mark_escalated(session, handoff_id)
            await session.commit()
            return marked

    async def _least_busy(self, skill: str | None) -> list[int]:
        """On-duty agents with room, least loaded first (then the one assigned longest ago); those with
        the conversation's skill group first."""
        async with self._console.sessions() as session:
            rows = (await session.execute(
                select(Agent.id, Agent.capacity, Agent.skills, Agent.last_assigned_at)
                .join(Shift, Shift.open_key == Agent.id)
                .where(Shift.state == ShiftState.ON_DUTY, Agent.active.is_(True))
            )).all()
            loads = await pool.loads(session)
        free = [(a, c, s, t) for a, c, s, t in rows if loads.get(a, 0) < c]
        epoch = utcnow() - timedelta(days=3650)
        free.sort(key=lambda r: (skill is not None and skill not in (r[2] or []), loads.get(r[0], 0), r[3] or epoch))
        return [r[0] for r in free]

    async def tell_positions(self) -> None:
        async with self._console.sessions() as session:
            order = await pool.waiting_order(session)
            if not order:
                return
            staff = await pool.staffing(session)
            grab_s, handle_s = await pool.typical_times(session)
        for position, (handoff_id, conversation_id, told) in enumerate(order, 1):
            if told == position:
                continue
            near = position <= TELL_EVERY_CHANGE_UP_TO
            if not near and told is not None and abs(told - position) < TELL_FAR_MOVES_OF:
                continue
            if not await self._claim_telling(handoff_id, told, position):
                continue
            wait = pool.estimate_wait(position, staff, grab_s, handle_s)
            await self._tell(conversation_id, position, wait)

    async def _claim_telling(self, handoff_id: int, told: int | None, position: int) -> bool:
        async with self._console.sessions() as session:
            mine = await handoff_states.mark_position_told(session, handoff_id, told, position)
            await session.commit()
            return mine

    async def _tell(self, conversation_id: str, position: int, wait: int | None) -> None:
        async with self._console.sessions() as session:
            found = await session.execute(select(Conversation.channel).where(Conversation.id == conversation_id))
            channel = found.scalar_one()
        text = queued_message(position, wait, again=True)
        meta = {"queue": {"position": position, "estimated_wait_s": wait}}
        await self._console.hub.send(conversation_id, channel, Author.SYSTEM,
                                     Reply(text=text, buttons=LEAVE_BUTTON, meta=meta), push=True)

    async def retry_resumes(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time < self._next_resume_retry:
            return
        self._next_resume_retry = loop_time + RESUME_RETRY_EVERY_S
        async with self._console.sessions() as session:
            pending = (await session.execute(
                select(Handoff.id, Handoff.conversation_id)
                .where(Handoff.resume_pending.is_(True), Handoff.finished_at >= utcnow() - RESUME_RETRY_FOR)
            )).all()
        for handoff_id, conversation_id in pending:
            if await resume_bot(self._console, conversation_id):
                async with self._console.sessions() as session:
                    await handoff_states.mark_resumed(session, handoff_id)
                    await session.commit()
