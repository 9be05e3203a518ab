"""Recording a rating: the one door every channel goes through (web, app, WeChat, phone, counter).

A service event (a handoff, a bot conversation, a call, a counter visit) has one `event_key`; the
unique key in the table makes "one rating per event" hold even when two answers race. A bad level
opens the rectification case in the same transaction, so a stored 不满意 never lacks its case."""
from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ApiError, ErrorCodes
from ratings.cases import open_case
from ratings.context import Ratings
from ratings.departments import department_for
from ratings.events import TOPIC, RatingNew
from ratings.levels import Level
from ratings.models import Rating, RatingRequest
from ratings.reasons import REASONS
from staff.models import Agent

log = logging.getLogger(__name__)

COMMENT_MAX = 500
# Every error the recording can answer, for the routes' `responses=`.
RECORD_ERRORS: ErrorCodes = {
    409: ("already_rated",),
    422: ("rating_level_invalid", "rating_reason_invalid", "rating_comment_too_long"),
}


def parse_level(value: object) -> Level:
    """1..5 as a number or its digit (full-width too); anything else is a 422 the citizen can read."""
    if isinstance(value, bool):  # True is an int to Python, never a level
        value = None
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        value = int(text) if text.isascii() and text.isdigit() and len(text) == 1 else None
    if isinstance(value, int) and Level.VERY_DISSATISFIED <= value <= Level.VERY_SATISFIED:
        return Level(value)
    raise ApiError(422, "rating_level_invalid", "评价等级应为 1 到 5（5 为非常满意，1 为非常不满意）。")


def clean_reasons(reasons: Iterable[object] | None) -> list[str]:
    """Only the fixed reasons, each once, in the list's order."""
    given = list(reasons or [])
    unknown = [r for r in given if r not in REASONS]
    if unknown:
        raise ApiError(422, "rating_reason_invalid", "评价原因只能从给出的选项中选择：" + "、".join(REASONS) + "。")
    return [r for r in REASONS if r in given]


def clean_comment(comment: str | None) -> str | None:
    """Plain text up to COMMENT_MAX characters. Markup is kept as the citizen typed it and shown as text
    wherever it appears (pages set textContent, exports write cells), so nothing is stripped here."""
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ApiError(422, "rating_comment_too_long", "评价留言应为文字。")
    # Control characters other than line breaks would only garble the case view and the exports.
    text = "".join(c for c in comment if c in "\n\t" or unicodedata.category(c) != "Cc").strip()
    if len(text) > COMMENT_MAX:
        raise ApiError(422, "rating_comment_too_long", f"评价留言最多 {COMMENT_MAX} 字。")
    return text or None


async def record_rating(
    ratings: Ratings, session: AsyncSession, *, event_key: str, kind: str, channel: str, level: int,
    reasons: list[str] | None = None, comment: str | None = None, business: str | None = None,
    department: str | None = None, agent_id: int | None = None, counter: str | None = None,
    citizen_id: str | None = None, conversation_id: str | None = None,
) -> Rating:
    """Stores the one rating of `event_key` and commits; a bad one opens its rectification case.
    409 `already_rated` for a second rating of the event; 422 for a level, reason or comment out of bounds.
    The open request of the event, if any, is marked answered. Commits `session`."""
    valid = parse_level(level)
    chosen, text = clean_reasons(reasons), clean_comment(comment)
    if await session.scalar(select(Rating.id).where(Rating.event_key == event_key)) is not None:
        raise _already_rated()
    now = ratings.clock.now()
    # Every rating answers to a department (analysis by department, the case's routing): when the caller
    # named none, the rated agent's own department, else the business's owner (ratings.departments).
    if not department:
        own = (await session.scalar(select(Agent.department).where(Agent.id == agent_id))
               if agent_id is not None else None)
        department = department_for(business, own)
    rating = Rating(event_key=event_key, kind=kind, channel=channel, level=int(valid), reasons=chosen, comment=text,
                    business=business, department=department, agent_id=agent_id, counter=counter,
                    citizen_id=citizen_id, conversation_id=conversation_id, created_at=now)
    session.add(rating)
    try:
        await session.flush()  # the unique event_key decides a race here; the case needs the rating's id
        if valid.bad:
            await open_case(session, rating, now=now, settings=ratings.settings)
        await session.execute(update(RatingRequest)
                              .where(RatingRequest.event_key == event_key, RatingRequest.answered_at.is_(None))
                              .values(answered_at=now))
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise _already_rated() from None
    log.info("rating %s stored: %s %s level %s", rating.id, kind, channel, int(valid))
    await _announce(ratings, rating)
    return rating


async def add_details(ratings: Ratings, session: AsyncSession, rating: Rating, *,
                      reasons: list[str] | None = None, comment: str | None = None) -> Rating:
    """Reasons and a comment given after the level (the second step after a bad rating) update that same
    rating, never make a second one. What is given replaces what was there; None leaves it. Commits."""
    if reasons is not None:
        rating.reasons = clean_reasons(reasons)
    if comment is not None:
        rating.comment = clean_comment(comment)
    await session.commit()
    await _announce(ratings, rating)
    return rating


async def ask(
    ratings: Ratings, session: AsyncSession, *, event_key: str, kind: str, channel: str,
    conversation_id: str | None, citizen_id: str | None, agent_id: int | None, business: str | None,
    department: str | None,
) -> RatingRequest | None:
    """Asks for the rating of `event_key` once: the request, open for RATING_REQUEST_MINUTES; None when
    this event was asked before (answered, ignored or expired: never asked again). Commits `session`,
    so pass one without pending work of the caller's."""
    if await session.scalar(select(RatingRequest.id).where(RatingRequest.event_key == event_key)) is not None:
        return None
    now = ratings.clock.now()
    request = RatingRequest(event_key=event_key, kind=kind, channel=channel, conversation_id=conversation_id,
                            citizen_id=citizen_id, agent_id=agent_id, business=business, department=department,
                            requested_at=now, expires_at=now + request_lifetime(ratings))
    session.add(request)
    try:
        await session.commit()
    except IntegrityError:  # asked at the same moment by another worker: that one asks
        await session.rollback()
        return None
    return request


def request_lifetime(ratings: Ratings) -> timedelta:
    return timedelta(minutes=ratings.settings.rating_request_minutes)


async def open_request(session: AsyncSession, conversation_id: str, now: datetime) -> RatingRequest | None:
    """The latest request of the conversation still open (unanswered, not expired)."""
    return (await session.scalars(
        select(RatingRequest)
        .where(RatingRequest.conversation_id == conversation_id, RatingRequest.answered_at.is_(None),
               RatingRequest.expires_at > now)
        .order_by(RatingRequest.requested_at.desc(), RatingRequest.id.desc()).limit(1)
    )).first()


def _already_rated() -> ApiError:
    return ApiError(409, "already_rated", "这次服务已经评价过了，感谢您的反馈。")


async def _announce(ratings: Ratings, rating: Rating) -> None:
    # After the commit: a wall that looks again finds the rating. A bus fault never loses the rating.
    try:
        await ratings.bus.publish(TOPIC, RatingNew(
            rating_id=rating.id, level=rating.level, channel=rating.channel, kind=rating.kind,
            business=rating.business, department=rating.department, agent_id=rating.agent_id,
            bad=Level(rating.level).bad))
    except Exception:  # noqa: BLE001 - the rating is stored; the live view catches up on its next load
        log.warning("ratings.new not published for rating %s", rating.id, exc_info=True)
