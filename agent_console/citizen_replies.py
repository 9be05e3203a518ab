"""Citizen messages the service answers itself, on every channel (the hub's interceptor): a number
answering a pending rating request, and "留言" from a citizen who would rather not wait in the queue."""
from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from sqlalchemy import select

from agent_console import callbacks, handoff_states
from agent_console.context import Console
from agent_console.conversations import resume_bot
from agent_console.models import Handoff, HandoffState
from agent_console.pool import open_handoff
from conversations.models import Conversation, ConversationStatus, Message
from conversations.replies import Reply
from core.db import utcnow
from core.states import IllegalTransition

S = ConversationStatus
_RATING = re.compile(r"^([1-5])\s*(?:分|星)?[。.!！]?$")
LEAVE_WORDS = frozenset({"留言", "我要留言", "不等了", "不等了留言", "不等了，留言", "给我留言"})


def parse_rating(text: str) -> int | None:
    match = _RATING.match(unicodedata.normalize("NFKC", text).strip())  # NFKC: full-width ５ is 5
    return int(match[1]) if match else None


class CitizenReplies:
    def __init__(self, console: Console) -> None:
        self._console = console

    async def __call__(self, conversation: Conversation, message: Message, status: str) -> list[Reply] | None:
        text = message.text.strip()
        # With ratings running, the rating request and its answer are theirs (ratings/conversation.py).
        if status == S.BOT and self._console.rating_asker is None and (score := parse_rating(text)) is not None:
            return await self._rate(conversation.id, score)
        if status == S.WAITING and text in LEAVE_WORDS:
            return await self._leave_message(conversation)
        return None

    async def _rate(self, conversation_id: str, score: int) -> list[Reply] | None:
        """Stored once, for the latest hand-back still open for rating; otherwise the number is the
        bot's (a form may be asking for one)."""
        window = timedelta(minutes=self._console.settings.console_rating_minutes)
        async with self._console.sessions() as session:
            handoff_id = await session.scalar(
                select(Handoff.id)
                .where(Handoff.conversation_id == conversation_id, Handoff.state == HandoffState.FINISHED,
                       Handoff.rating_requested_at >= utcnow() - window, Handoff.rated_at.is_(None))
                .order_by(Handoff.id.desc())
                .limit(1)
            )
            if handoff_id is None:
                return None
            news = await handoff_states.rate(session, handoff_id, score)
            await session.commit()
        if news is None:
            return None
        await news.publish(self._console.bus)
        return [Reply(text=f"感谢您的评价（{score}分）！还有其他问题可以继续问我。", meta={"rating": score})]

    async def _leave_message(self, conversation: Conversation) -> list[Reply] | None:
        console = self._console
        async with console.sessions() as session:
            handoff = await open_handoff(session, conversation.id)
        if handoff is None or handoff.state != HandoffState.WAITING:
            return None
        await resume_bot(console, conversation.id)  # before leaving `waiting`, as in a hand-back
        try:
            async with console.sessions() as session, session.begin():
                news = await handoff_states.cancel_for_message(session, handoff)
        except IllegalTransition:
            return None  # grabbed this very moment: the agent is joining, the message is theirs
        await news.publish(console.bus)
        ticket, promise = await callbacks.open_ticket(
            console, conversation=conversation, reason=handoff.reason, contact=handoff.contact, origin="left_queue"
        )
        reach = "" if ticket.contact else "，回复会发到这里"
        return [Reply(
            text=f"好的，已为您登记留言（编号{ticket.id}），工作人员将在{promise}联系您{reach}。"
                 "您也可以继续向智能客服提问。",
            meta={"callback": {"ticket_id": ticket.id}},
        )]
