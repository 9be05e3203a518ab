"""The citizen's cards (您可以办理：…): read and put away by the app, by the web page and by the WeChat
menu's landing page `/me` (我的待办).

Each route first decides whose cards it serves from the channel's own credential (the app's key or
citizen token, the web visitor's signed token) and then reads only that citizen's cards: a card id of
someone else answers 404 exactly like one that does not exist. Showing a card marks it seen.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from channels import web
from channels.app_api import CITIZEN_ERRORS, USER_ID, CredentialDep, citizen_of
from conversations.models import Channel, Identity
from core.deps import SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.limits import RATE_LIMITED, LimiterDep, by_address
from core.pages import page_headers
from core.signing import unsign
from outreach import cards
from outreach.context import Outreach
from outreach.deps import OutreachDep
from outreach.models import Card

router = APIRouter(tags=["cards"])
# Cards are listed by the page at each load: counted per citizen and per address like the messages.
CARDS_LIMIT = [Depends(by_address("cards"))]
PAGE_HEADERS = page_headers()
# One person's cards: no shared cache (a proxy, the WeChat browser's) may keep them.
PRIVATE = "no-store"
NOT_FOUND = {404: ("card_not_found",)}
WEB_ERRORS = {401: ("web_unauthorized", "invalid_token")}
CardId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="the card's id, as the list gave it")]


class CardOut(BaseModel):
    id: int
    business: str = Field(description="a business code of policy/params/business.yml")
    business_name: str = Field(description="the card reads 您可以办理：<business_name> (the catalogue's name)")
    title: str = Field(description="the title it was posted with (its campaign's)")
    text: str
    url: str | None = Field(description="the citizen's personal 一点就能办 link, if the card has one")
    created_at: datetime
    expires_at: datetime


class CardsOut(BaseModel):
    cards: list[CardOut]


def web_visitor(settings: SettingsDep, authorization: Annotated[str | None, Header(max_length=512)] = None) -> str:
    """The web visitor the page's signed token names (the chat page keeps it; the WeChat menu's
    authorisation hands it over for a follower)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "web_unauthorized", "请从公众号菜单或在线咨询页面进入。")
    visitor = unsign(settings.session_secret.get_secret_value(), web.TOKEN_PURPOSE, token.strip())
    if visitor is None:
        raise ApiError(401, "invalid_token", "会话凭证无效，请从公众号菜单重新进入。")
    return visitor


VisitorDep = Annotated[str, Depends(web_visitor)]


async def _citizen(outreach: Outreach, kind: str, value: str) -> str | None:
    """The citizen behind a channel identity, if there is one yet (nobody is created by reading cards)."""
    async with outreach.sessions() as session:
        return await session.scalar(select(Identity.citizen_id).where(Identity.kind == kind, Identity.value == value))


async def _list(outreach: Outreach, kind: str, value: str) -> CardsOut:
    citizen_id = await _citizen(outreach, kind, value)
    if citizen_id is None:
        return CardsOut(cards=[])
    now = outreach.clock.now()
    async with outreach.sessions() as session:
        shown = await cards.cards_for(session, citizen_id, now)
        await cards.mark_seen(session, shown, now)
        await session.commit()
    return CardsOut(cards=[_out(outreach, card) for card in shown])


def _out(outreach: Outreach, card: Card) -> CardOut:
    return CardOut(id=card.id, business=card.business, business_name=cards.business_name(outreach.settings, card),
                   title=card.title, text=card.text,
                   url=cards.card_url(outreach.settings, card), created_at=card.created_at, expires_at=card.expires_at)


async def _dismiss(outreach: Outreach, kind: str, value: str, card_id: int) -> Response:
    citizen_id = await _citizen(outreach, kind, value)
    async with outreach.sessions() as session:
        found = citizen_id is not None and await cards.dismiss(
            session, citizen_id=citizen_id, card_id=card_id, now=outreach.clock.now()
        )
        if not found:
            raise ApiError(404, "card_not_found", "没有找到这条待办，可能已经处理或过期。")
        await session.commit()
    return Response(status_code=204)


@router.get("/api/v1/app/cards", response_model=CardsOut, dependencies=CARDS_LIMIT,
            responses=error_responses(INVALID_REQUEST, CITIZEN_ERRORS, RATE_LIMITED))
async def app_cards(
    outreach: OutreachDep, credential: CredentialDep, response: Response, limiter: LimiterDep,
    user_id: Annotated[str | None, Query(pattern=USER_ID)] = None,
) -> CardsOut:
    """The app user's cards, newest first (the app's backend names `user_id`; a citizen token names itself)."""
    response.headers["Cache-Control"] = PRIVATE
    citizen = citizen_of(credential, user_id)
    await limiter.check("citizen", "cards", citizen)
    return await _list(outreach, Channel.APP, citizen)


@router.post("/api/v1/app/cards/{card_id}/dismiss", status_code=204, response_class=Response,
             dependencies=CARDS_LIMIT,
             responses=error_responses(INVALID_REQUEST, CITIZEN_ERRORS, NOT_FOUND, RATE_LIMITED))
async def app_dismiss(
    card_id: CardId, outreach: OutreachDep, credential: CredentialDep, limiter: LimiterDep,
    user_id: Annotated[str | None, Query(pattern=USER_ID)] = None,
) -> Response:
    """Put a card away: it is no longer shown on any of the citizen's pages."""
    citizen = citizen_of(credential, user_id)
    await limiter.check("citizen", "cards", citizen)
    return await _dismiss(outreach, Channel.APP, citizen, card_id)


@router.get("/api/v1/web/cards", response_model=CardsOut, dependencies=CARDS_LIMIT,
            responses=error_responses(INVALID_REQUEST, WEB_ERRORS, RATE_LIMITED))
async def web_cards(outreach: OutreachDep, visitor: VisitorDep, response: Response, limiter: LimiterDep) -> CardsOut:
    """The web visitor's cards (`Authorization: Bearer <visitor token>`), newest first."""
    response.headers["Cache-Control"] = PRIVATE
    await limiter.check("citizen", "cards", visitor)
    return await _list(outreach, Channel.WEB, visitor)


@router.post("/api/v1/web/cards/{card_id}/dismiss", status_code=204, response_class=Response,
             dependencies=CARDS_LIMIT,
             responses=error_responses(INVALID_REQUEST, WEB_ERRORS, NOT_FOUND, RATE_LIMITED))
async def web_dismiss(card_id: CardId, outreach: OutreachDep, visitor: VisitorDep, limiter: LimiterDep) -> Response:
    await limiter.check("citizen", "cards", visitor)
    return await _dismiss(outreach, Channel.WEB, visitor, card_id)


@router.get("/me", response_class=FileResponse, include_in_schema=False)
async def my_page() -> FileResponse:
    """我的待办: the WeChat menu's landing page (reached through /wechat/oauth?next=/me)."""
    # Its files sit beside the chat page's (channels/static), which it shares its look and token with.
    return FileResponse(web.STATIC_DIR / "me.html", headers=PAGE_HEADERS)
