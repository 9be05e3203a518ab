"""The citizen's side of a rectification: the department's answer on the conversation's channel, then one
follow-up rating of how it was put right (整改回访). Ratings given by phone or at a counter have no
conversation to answer in; their reply and follow-up are made by phone and recorded by the supervisor
(sending them by SMS is not built)."""
from __future__ import annotations

import logging
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.hub import Hub
from conversations.models import Author, Conversation, Direction, Message
from conversations.replies import Reply
from core.errors import ApiError
from ratings import cases
from ratings.context import Ratings
from ratings.levels import LABELS, Level
from ratings.models import Rating, RectificationCase

log = logging.getLogger(__name__)

FOLLOW_UP_BUTTONS: list[dict[str, str]] = [{"title": LABELS[level], "payload": str(int(level))}
                                           for level in sorted(Level, reverse=True)]
FOLLOW_UP_TEXT = "您对这次整改的结果满意吗？请回复数字1–5（5为非常满意，1为非常不满意）。"
THANKS = "感谢您的回访评价，我们会继续改进服务。"
_DIGIT = re.compile(r"^([1-5])分?$")
_BY_LABEL = {label: level for level, label in LABELS.items()}


def parse_level(text: str) -> Level | None:
    clean = unicodedata.normalize("NFKC", text).strip().rstrip("。.!！")
    if (match := _DIGIT.match(clean)) is not None:
        return Level(int(match[1]))
    return _BY_LABEL.get(clean)


async def send_reply(ratings: Ratings, hub: Hub, rating: Rating, case_id: int, text: str) -> bool:
    """The answer, then the follow-up request, in the rated conversation (pushed where the channel
    pushes: WeChat, the app's next poll, the web page). False when the rating has no conversation."""
    if not rating.conversation_id:
        return False
    async with ratings.sessions() as session:
        channel = await session.scalar(select(Conversation.channel).where(Conversation.id == rating.conversation_id))
    if channel is None:
        return False
    await hub.send(rating.conversation_id, channel, Author.AGENT, Reply(text=text), push=True)
    await hub.send(rating.conversation_id, channel, Author.SYSTEM,
                   Reply(text=FOLLOW_UP_TEXT, buttons=FOLLOW_UP_BUTTONS,
                         meta={"rectification_follow_up": {"case_id": case_id}}), push=True)
    return True


async def _answers_the_request(session: AsyncSession, conversation_id: str, message_id: int) -> bool:
    last = (await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id, Message.direction == Direction.OUT,
                              Message.id < message_id)
        .order_by(Message.id.desc()).limit(1))).first()
    return last is None or "rectification_follow_up" in (last.payload or {})


class FollowUps:
    """A hub interceptor: a level from a citizen with a replied case waiting for their follow-up rating
    closes that case. Anything else (or no such case) goes on to the bot. The digit counts only as an
    answer to the request: right after it in its conversation, or as the first words of a new one (the
    rated conversation may have closed meanwhile); a digit in the middle of a talk with the bot is the
    bot's."""

    def __init__(self, ratings: Ratings) -> None:
        self._ratings = ratings

    async def __call__(self, conversation: Conversation, message: Message, status: str) -> list[Reply] | None:
        level = parse_level(message.text or "")
        if level is None:
            return None
        ratings = self._ratings
        async with ratings.sessions() as session:
            case_id = await session.scalar(
                select(RectificationCase.id).join(Rating, Rating.id == RectificationCase.rating_id)
                .where(Rating.citizen_id == conversation.citizen_id,
                       RectificationCase.status == cases.CaseStatus.REPLIED,
                       RectificationCase.follow_up_level.is_(None))
                .order_by(RectificationCase.replied_at.desc()).limit(1))
            if case_id is None or not await _answers_the_request(session, conversation.id, message.id):
                return None
            now = ratings.clock.now()
            try:
                item = await cases.follow_up(session, case_id, level, now)
            except ApiError:  # closed meanwhile (by time): the digit is the bot's
                log.info("follow-up for case %s came too late", case_id)
                return None
            await session.commit()
        await cases.announce(ratings, item, now)
        return [Reply(text=THANKS)]
