"""One citizen message, answered on WeChat's terms.

WeChat waits 5 seconds for the passive reply, then drops the connection and sends the same message
again (three times in all). So: the answer goes back passively when it is ready within the budget
(WECHAT_REPLY_BUDGET_S, well under 5 s) and fits one message; otherwise the reply is empty at once,
the turn is recorded as pushed, and the answer follows through the customer-service API when ready.

A retry is stored once (the hub's unique client id, so in any process). It gets the first
attempt's answer again if that answer was passive (WeChat shows a message once, and the first reply
may have been lost), an empty reply if the first attempt is still thinking or pushes its answer.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.wechat.background import Background
from channels.wechat.inbound import Incoming
from channels.wechat.models import PushedTurn
from channels.wechat.outbox import Outbox
from channels.wechat.render import Out, Renderer, choices_before, looks_like_choice, pick_choice
from conversations.hub import Hub, Turn
from conversations.inbound import Choice, Inbound
from conversations.replies import Reply
from core.db import rowcount, utcnow
from core.metrics import WECHAT_DEADLINE_MISSES

log = logging.getLogger(__name__)

RECENT_FOR_CHOICES = 10
PUSHED_KEPT = timedelta(days=1)


class Turns:
    def __init__(
        self,
        *,
        hub: Hub,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        renderer: Renderer,
        background: Background,
        budget_s: float,
    ) -> None:
        self._hub = hub
        self._sessions = sessions
        self._outbox = outbox
        self._renderer = renderer
        self._background = background
        self._budget = budget_s

    async def answer(self, incoming: Incoming, started: float) -> list[Out]:
        """What to reply passively: one message, or nothing (the answer is pushed, or there is none).
        `started` (time.monotonic()) is when WeChat's wait began; the budget counts from there."""
        conversation = await self._hub.conversation_for(incoming.inbound)
        inbound, fixed = await self._with_choice(conversation.id, incoming)
        work = self._background.spawn(
            self._hub.receive(conversation, inbound, fixed_replies=fixed),
            name=f"wechat-turn-{conversation.id}",
        )
        remaining = self._budget - (time.monotonic() - started)
        try:
            turn = await asyncio.wait_for(asyncio.shield(work), timeout=max(remaining, 0.01))
        except asyncio.TimeoutError:
            await self._mark_pushed(inbound.client_msg_id)
            WECHAT_DEADLINE_MISSES.inc()
            self._background.spawn(
                self._push_when_ready(work, incoming.openid), name=f"wechat-late-{conversation.id}"
            )
            return []
        if turn.duplicate and await self._was_pushed(inbound.client_msg_id):
            return []
        outs = self._renderer.render(turn.replies)
        if len(outs) <= 1:
            return outs
        # A passive reply is one message; several go in order by push.
        if not turn.duplicate:
            await self._mark_pushed(inbound.client_msg_id)
            self._background.spawn(self._send(incoming.openid, outs, turn), name=f"wechat-parts-{conversation.id}")
        return []

    async def _with_choice(self, conversation_id: str, incoming: Incoming) -> tuple[Inbound, list[Reply] | None]:
        """A digit after numbered choices stands for that choice's button; a digit that is none of the
        choices on offer (an old menu's number) is answered with the current choices, not passed on."""
        inbound = incoming.inbound
        if incoming.fixed is not None or not looks_like_choice(inbound.text):
            return inbound, incoming.fixed
        recent = await self._hub.history(conversation_id, limit=RECENT_FOR_CHOICES)
        picked = pick_choice(inbound.text, recent)
        if picked is None:
            current = choices_before(recent)
            if current:
                return inbound, [Reply(text="这个编号不在当前的选项里，请回复下面的数字：", buttons=current,
                                       meta={"stale_choice": True})]
            return inbound, None
        number, button = picked
        return replace(inbound, text=button["payload"], choice=Choice(number, button["title"])), None

    async def _push_when_ready(self, work: asyncio.Task, openid: str) -> None:
        turn: Turn = await work
        if turn.duplicate:
            return  # the first attempt delivers its own answer
        outs = self._renderer.render(turn.replies)
        await self._send(openid, outs, turn)

    async def _send(self, openid: str, outs: list[Out], turn: Turn) -> None:
        first = turn.sent[0].message.id if turn.sent else None
        await self._outbox.deliver(openid, outs, message_id=first)

    async def _mark_pushed(self, client_msg_id: str | None) -> None:
        if client_msg_id is None:  # without an id the hub cannot spot a retry either: nothing to remember
            return
        async with self._sessions() as session:
            session.add(PushedTurn(client_msg_id=client_msg_id))
            try:
                await session.commit()
            except IntegrityError:  # already marked by an earlier attempt
                await session.rollback()

    async def _was_pushed(self, client_msg_id: str | None) -> bool:
        if client_msg_id is None:
            return False
        async with self._sessions() as session:
            return await session.get(PushedTurn, client_msg_id) is not None

    async def forget_pushed(self, older_than: timedelta = PUSHED_KEPT) -> int:
        """Marks matter only while WeChat may still retry (about 15 s); older ones are dropped."""
        async with self._sessions() as session:
            result = await session.execute(delete(PushedTurn).where(PushedTurn.created_at < utcnow() - older_than))
            await session.commit()
            return rowcount(result)
