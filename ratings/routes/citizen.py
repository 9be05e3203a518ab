"""The citizen's own rating call, for the web page and the app: `POST /api/v1/ratings` answers the
conversation's rating request directly (the same as sending a button's payload as the next message).

Only the conversation's own citizen may answer: the web page proves it with its visitor token, the app
with its credentials (the app's key naming `user_id`, or the citizen's bearer token)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels import web
from channels.app_api import CITIZEN_ERRORS, USER_ID, _credential, citizen_of
from conversations.models import Conversation, Identity
from core.deps import SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.limits import RATE_LIMITED, LimiterDep, client_address
from core.signing import unsign
from ratings.conversation import rate_handoff
from ratings.deps import RatingsDep
from ratings.levels import Level
from ratings.models import RatingRequest
from ratings.reasons import REASONS
from ratings.record import RECORD_ERRORS, parse_level, record_rating

router = APIRouter(prefix="/api/v1/ratings", tags=["ratings: citizens"])
ERRORS = {
    401: ("invalid_token", "rating_unauthorized"), 403: ("rating_not_yours",),
    404: ("rating_request_not_found",), 409: ("rating_request_expired",),
    422: ("rating_target_required",),
}


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str | None = Field(None, max_length=36, description="answers its latest rating request")
    request_id: int | None = Field(None, ge=1, le=2**62, description="or the request itself (`rating_request_id`)")
    level: int | str = Field(description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意")
    reasons: list[str] = Field(default_factory=list, max_length=len(REASONS), description=f"of {'、'.join(REASONS)}")
    comment: str | None = Field(None, max_length=2000, description="plain text, up to 500 characters")
    visitor_token: str | None = Field(None, max_length=200, description="the web page's visitor token")
    user_id: str | None = Field(None, pattern=USER_ID, description="the app's backend: the citizen it speaks for")


class RatingOut(BaseModel):
    rating_id: int
    level: int
    label: str
    case_opened: bool = Field(description="a bad rating opens a rectification case")


@router.post("", status_code=201, response_model=RatingOut, responses=error_responses(
    INVALID_REQUEST, CITIZEN_ERRORS, ERRORS, RECORD_ERRORS, RATE_LIMITED))
async def rate(
    body: RatingIn, ratings: RatingsDep, settings: SettingsDep, limiter: LimiterDep, request: Request,
    x_api_key: Annotated[str | None, Header(max_length=256)] = None,
    authorization: Annotated[str | None, Header(max_length=512)] = None,
) -> RatingOut:
    kind, value = _citizen(settings, body, x_api_key, authorization)
    # Counted before anything is read or stored: a flood is refused whatever it asks.
    await limiter.check("citizen", "ratings", f"{kind}:{value}")
    if kind == "web" or authorization is not None:  # the app's backend speaks for many from few addresses
        await limiter.check("address", "ratings", client_address(request))
    level = parse_level(body.level)
    async with ratings.sessions() as session:
        citizen_id = await session.scalar(
            select(Identity.citizen_id).where(Identity.kind == kind, Identity.value == value))
        asked = await _request(session, body, citizen_id)
        if asked.answered_at is not None:
            raise ApiError(409, "already_rated", "这次服务已经评价过了，感谢您的反馈。")
        if asked.expires_at <= ratings.clock.now():
            raise ApiError(409, "rating_request_expired", "这次评价的时间已过，感谢您的关注。")
        rating = await record_rating(
            ratings, session, event_key=asked.event_key, kind=asked.kind, channel=asked.channel, level=int(level),
            reasons=body.reasons, comment=body.comment, business=asked.business, department=asked.department,
            agent_id=asked.agent_id, citizen_id=asked.citizen_id, conversation_id=asked.conversation_id)
        await rate_handoff(ratings, session, asked.event_key, level)
    return RatingOut(rating_id=rating.id, level=rating.level, label=Level(rating.level).label,
                     case_opened=Level(rating.level).bad)


def _citizen(settings: SettingsDep, body: RatingIn, x_api_key: str | None,
             authorization: str | None) -> tuple[str, str]:
    """(identity kind, value) of the caller: the web page's visitor, or the app's citizen."""
    if body.visitor_token is not None:
        visitor = unsign(settings.session_secret.get_secret_value(), web.TOKEN_PURPOSE, body.visitor_token)
        if visitor is None:
            raise ApiError(401, "invalid_token", "会话凭证无效，请刷新页面重新开始。")
        return "web", visitor
    credential = _credential(settings, x_api_key, authorization)
    if credential is None:
        raise ApiError(401, "rating_unauthorized", "请在咨询页面或应用中评价。")
    return "app", citizen_of(credential, body.user_id)


async def _request(session: AsyncSession, body: RatingIn, citizen_id: str | None) -> RatingRequest:
    """The request answered: by its id, or the conversation's latest (answered or expired ones too, so
    the answer says which)."""
    not_yours = ApiError(403, "rating_not_yours", "只能评价您自己的服务。")
    if body.request_id is not None:
        asked = await session.get(RatingRequest, body.request_id)
        if asked is None:
            raise ApiError(404, "rating_request_not_found", "没有找到这次评价请求。")
        if citizen_id is None or asked.citizen_id != citizen_id:
            raise not_yours
        return asked
    if body.conversation_id is None:
        raise ApiError(422, "rating_target_required", "请提供会话编号（conversation_id）或评价请求编号（request_id）。")
    conversation = await session.get(Conversation, body.conversation_id)
    if conversation is None:
        raise ApiError(404, "rating_request_not_found", "没有找到这次评价请求。")
    if citizen_id is None or conversation.citizen_id != citizen_id:
        raise not_yours
    asked = (await session.scalars(
        select(RatingRequest).where(RatingRequest.conversation_id == conversation.id)
        .order_by(RatingRequest.requested_at.desc(), RatingRequest.id.desc()).limit(1))).first()
    if asked is None:
        raise ApiError(404, "rating_request_not_found", "这次会话还没有需要评价的服务。")
    return asked
