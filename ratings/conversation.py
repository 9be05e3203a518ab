"""Ratings inside a conversation (web page, app, WeChat): asking after an agent finished or after the
bot served the citizen, reading the citizen's answer, and the reasons and comment after a bad one.

Everything the citizen sees is a system message with buttons, so every channel shows it its own way
(buttons on the page and in the app, numbered choices on WeChat). The rating buttons' payloads are the
level's digit, 5 for 非常满意 down to 1, so a typed "5" (full-width too) or WeChat's numbered "5" means the
same as the button. The answer is read by the hub's interceptor before the bot sees it; anything that
is not an answer goes on to the bot, so an open request never traps the citizen.

A *service event* is what one rating is for:
- `handoff:<handoff id>`: an agent's stay in the conversation, asked when the agent finishes;
- `bot:<conversation id>:<local date>`: the bot's service of a conversation on one day, asked when the
  citizen closes with thanks or goodbye after the bot answered something, never while a form or a
  handoff is under way. Asked at most once a day per conversation, answered or not."""
from __future__ import annotations

import logging
import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import handoff_states
from agent_console.hours import LOCAL
from agent_console.models import Handoff
from conversations.bot_client import BotUnavailable, RasaClient
from conversations.models import Author, Channel, Conversation, ConversationStatus, Direction, Message
from conversations.replies import Reply
from core.errors import ApiError
from ratings.context import Ratings
from ratings.departments import department_for
from ratings.levels import LABELS, Level
from ratings.models import EventKind, Rating, RatingRequest
from ratings.reasons import REASONS
from ratings.record import add_details, ask, open_request, record_rating
from staff.models import Agent

log = logging.getLogger(__name__)

SKIP = "跳过"
SCALE = "5 非常满意，4 满意，3 基本满意，2 不满意，1 非常不满意"
AGENT_TEXT = (f"本次人工服务已结束，智能客服将继续为您服务。请为刚才的人工服务打分：回复数字 5–1（{SCALE}），"
              "或点选下方按钮。")
BOT_TEXT = f"不客气，很高兴为您服务！请为本次智能客服的服务打分：回复数字 5–1（{SCALE}），或点选下方按钮。"
REASONS_TEXT = "很抱歉没能让您满意，我们会核实并在规定时限内联系您。请选择主要原因，或回复“跳过”。"
COMMENT_TEXT = f"已记录原因。您还可以用一句话说明具体情况（直接回复文字，500 字以内），或回复“{SKIP}”。"
NOTED_TEXT = "已记录您的意见，我们会尽快核实处理。还有其他问题可以继续问我。"
SKIPPED_TEXT = "好的，感谢您的反馈。还有其他问题可以继续问我。"
LEVEL_BUTTONS: list[dict[str, str]] = [{"title": LABELS[level], "payload": str(int(level))} for level in
                                       sorted(Level, reverse=True)]
SKIP_BUTTON = {"title": SKIP, "payload": SKIP}
REASON_BUTTONS: list[dict[str, str]] = [{"title": r, "payload": r} for r in REASONS] + [SKIP_BUTTON]

_DIGIT = re.compile(r"^([1-5])\s*(?:分|星)?$")
_BY_LABEL = {label: level for level, label in LABELS.items()}
_TRAILING = "。.!！~～ "
# Closing words after which the bot's service is rated; compared after dropping spaces and punctuation.
CLOSINGS = frozenset({
    "谢谢", "谢谢你", "谢谢您", "多谢", "感谢", "非常感谢", "十分感谢", "好的谢谢", "好谢谢", "明白了谢谢",
    "知道了谢谢", "清楚了谢谢", "谢谢再见", "再见", "拜拜", "好的再见", "没有了", "没有了谢谢", "没有其他问题了",
    "没问题了谢谢", "问题解决了", "解决了谢谢", "thanks", "thankyou", "bye",
})
_NOT_WORD = re.compile(r"[\s\W_]+", re.UNICODE)
RECENT = 30  # messages looked back at to see whether the bot has served since the last request
# Spoken conversations: buttons and "回复数字" mean nothing there (a call is rated by its keys instead).
VOICE_CHANNELS = frozenset({Channel.PHONE, Channel.WEBRTC})


def parse_level(text: str) -> Level | None:
    """The citizen's answer to a rating request: a digit 1–5 ("5", "５", "5分") or a level's words
    ("非常满意"); None for anything else, which is not an answer."""
    clean = unicodedata.normalize("NFKC", text).strip().rstrip(_TRAILING)
    if (match := _DIGIT.match(clean)) is not None:
        return Level(int(match[1]))
    return _BY_LABEL.get(clean)


def is_closing(text: str) -> bool:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower()) in CLOSINGS


def request_reply(text: str, request: RatingRequest) -> Reply:
    return Reply(text=text, buttons=list(LEVEL_BUTTONS), meta={
        "rating_request": {"conversation_id": request.conversation_id}, "rating_request_id": request.id})


class ConversationRatings:
    """The hub's interceptor for ratings, and the console's rating asker."""

    def __init__(self, ratings: Ratings, bot: RasaClient | None) -> None:
        self._ratings = ratings
        self._bot = bot

    # -- asking ------------------------------------------------------------------------------------

    async def ask_after_handoff(self, handoff: Handoff) -> Reply | None:
        """The request sent when an agent finishes: one per handoff. Not on the phone, where the caller is
        asked for a key at the end of the call instead (ratings/phone.py)."""
        if handoff.channel in VOICE_CHANNELS:
            return None
        business = handoff.skill or handoff.intent
        async with self._ratings.sessions() as session:
            agent_department = (await session.scalar(select(Agent.department).where(Agent.id == handoff.agent_id))
                                if handoff.agent_id is not None else None)
            request = await ask(
                self._ratings, session, event_key=f"handoff:{handoff.id}", kind=EventKind.AGENT,
                channel=handoff.channel, conversation_id=handoff.conversation_id, citizen_id=handoff.citizen_id,
                agent_id=handoff.agent_id, business=business, department=department_for(business, agent_department))
        return request_reply(AGENT_TEXT, request) if request is not None else None

    async def _ask_after_bot(self, conversation: Conversation, message: Message) -> list[Reply] | None:
        if not is_closing(message.text):
            return None
        async with self._ratings.sessions() as session:
            if not await _bot_served_since_last_request(session, conversation.id, message.id):
                return None
        form = await self._form_state(conversation.id)
        if form is None:
            return None  # busy (a form) or the bot cannot tell: the thanks goes to the bot as usual
        business = form["intent"]
        day = _local_date(self._ratings.clock.now())
        async with self._ratings.sessions() as session:
            request = await ask(
                self._ratings, session, event_key=f"bot:{conversation.id}:{day}", kind=EventKind.BOT,
                channel=conversation.channel, conversation_id=conversation.id, citizen_id=conversation.citizen_id,
                agent_id=None, business=business, department=department_for(business, None))
        return [request_reply(BOT_TEXT, request)] if request is not None else None

    async def _form_state(self, conversation_id: str) -> dict[str, Any] | None:
        """{"intent": the latest intent} when the bot is between questions; None while a form is asking
        (the citizen's words are its answer) or when the tracker cannot be read."""
        if self._bot is None:
            return None
        try:
            tracker = await self._bot.tracker(conversation_id, timeout_s=1.0)
        except BotUnavailable:
            return None
        if (tracker.get("active_loop") or {}).get("name") or tracker.get("paused"):
            return None
        intent = ((tracker.get("latest_message") or {}).get("intent") or {}).get("name")
        return {"intent": intent if isinstance(intent, str) and intent else None}

    # -- the citizen's answers --------------------------------------------------------------------

    async def __call__(self, conversation: Conversation, message: Message, status: str) -> list[Reply] | None:
        if status != ConversationStatus.BOT or conversation.channel in VOICE_CHANNELS:
            return None  # the phone line asks and records by keys itself (ratings/phone.py)
        follow_up = await self._follow_up(conversation, message)
        if follow_up is not None:
            return follow_up
        level = parse_level(message.text)
        if level is not None:
            answered = await self._answer(conversation, level)
            if answered is not None:
                return answered
        return await self._ask_after_bot(conversation, message)

    async def _answer(self, conversation: Conversation, level: Level) -> list[Reply] | None:
        """The level given to the conversation's open request; None without one (the digit is the bot's:
        a form may be asking for a number)."""
        ratings = self._ratings
        async with ratings.sessions() as session:
            request = await open_request(session, conversation.id, ratings.clock.now())
            if request is None:
                return None
            try:
                rating = await record_rating(
                    ratings, session, event_key=request.event_key, kind=request.kind, channel=request.channel,
                    level=int(level), business=request.business, department=request.department,
                    agent_id=request.agent_id, citizen_id=request.citizen_id, conversation_id=conversation.id)
            except ApiError as refused:  # answered a moment ago (another tab, a retry)
                return [Reply(text=refused.message, meta={"rating_refused": refused.code})]
            await rate_handoff(ratings, session, request.event_key, level)
        return [_after_level(rating)]

    async def _follow_up(self, conversation: Conversation, message: Message) -> list[Reply] | None:
        """Reasons, then a comment, after a bad rating: only as the reply to the message that asked."""
        ratings = self._ratings
        async with ratings.sessions() as session:
            asked = await session.scalar(
                select(Message).where(Message.conversation_id == conversation.id, Message.id < message.id)
                .order_by(Message.id.desc()).limit(1))
            step = (asked.payload or {}).get("rating_follow_up") if asked is not None else None
            if not isinstance(step, dict) or asked is None or asked.direction != Direction.OUT:
                return None
            rating = await session.get(Rating, step.get("rating_id"))
            window = timedelta(minutes=ratings.settings.rating_request_minutes)
            if rating is None or rating.conversation_id != conversation.id or (
                    ratings.clock.now() - rating.created_at > window):
                return None
            text = unicodedata.normalize("NFKC", message.text).strip()
            if text.rstrip(_TRAILING) == SKIP:
                return [Reply(text=SKIPPED_TEXT, meta={"rating": rating.level})]
            if step.get("step") == "reasons":
                reason = text.rstrip(_TRAILING)
                if reason not in REASONS:
                    return None  # not a reason: the bot's, as any other question
                chosen = sorted({*rating.reasons, reason}, key=REASONS.index)
                await add_details(ratings, session, rating, reasons=chosen)
                return [Reply(text=COMMENT_TEXT, buttons=[SKIP_BUTTON],
                              meta={"rating_follow_up": {"rating_id": rating.id, "step": "comment"}})]
            try:
                await add_details(ratings, session, rating, comment=message.text)
            except ApiError as refused:  # too long: say so and ask again, nothing lost
                return [Reply(text=refused.message + f"请精简后再发，或回复“{SKIP}”。", buttons=[SKIP_BUTTON],
                              meta={"rating_follow_up": {"rating_id": rating.id, "step": "comment"}})]
        return [Reply(text=NOTED_TEXT, meta={"rating": rating.level})]


def _after_level(rating: Rating) -> Reply:
    level = Level(rating.level)
    if level.bad:
        return Reply(text=REASONS_TEXT, buttons=list(REASON_BUTTONS),
                     meta={"rating": rating.level, "rating_follow_up": {"rating_id": rating.id, "step": "reasons"}})
    return Reply(text=f"感谢您的评价（{level.label}）！还有其他问题可以继续问我。", meta={"rating": rating.level})


async def rate_handoff(ratings: Ratings, session: AsyncSession, event_key: str, level: Level) -> None:
    """An agent's rating also stays on the handoff, where the console's own figures read it."""
    kind, _, number = event_key.partition(":")
    if kind != "handoff" or not number.isdigit():
        return
    news = await handoff_states.rate(session, int(number), int(level))
    await session.commit()
    if news is not None:
        await news.publish(ratings.bus)


async def _bot_served_since_last_request(session: AsyncSession, conversation_id: str, before_id: int) -> bool:
    """Whether the bot answered something after the latest rating request of this conversation (looking
    back RECENT messages): thanks right after a request, or after an agent, is not a new bot service."""
    recent = (await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id, Message.id < before_id)
        .order_by(Message.id.desc()).limit(RECENT))).all()
    for earlier in recent:
        payload = earlier.payload or {}
        if "rating_request" in payload or "rating_follow_up" in payload or "rating" in payload:
            return False
        if earlier.author == Author.AGENT:
            return False
        if earlier.author == Author.BOT:
            return True
    return False


def _local_date(now: datetime) -> str:
    """The centre's calendar day."""
    return now.astimezone(LOCAL).date().isoformat()
