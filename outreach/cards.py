"""Personal cards (您可以办理：…) on the citizen's own pages: written by the campaign engine's card channel,
read by the citizen's web page, the app and the WeChat menu's landing page.

A card belongs to one citizen; every reader names the citizen it serves, never a card alone, so one
citizen never sees another's card.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import rowcount
from core.settings import Settings
from outreach import funnel, links
from outreach.models import Card, OutreachLink

# The funnel's channel for a card: it reaches the person when one of their own pages shows it.
CHANNEL = "card"
MAX_SHOWN = 5


async def post_card(
    session: AsyncSession,
    *,
    citizen_id: str,
    business: str,
    title: str,
    text: str,
    link_id: str | None,
    campaign_id: int | None,
    recipient_id: int | None,
    expires_at: datetime,
) -> Card | None:
    """Put a card on the citizen's pages; None when the recipient already has one (a retried delivery
    adds nothing). The caller commits."""
    values = {"citizen_id": citizen_id, "business": business, "title": title[:100], "text": text,
              "link_id": link_id, "campaign_id": campaign_id, "recipient_id": recipient_id,
              "expires_at": expires_at}
    # ON CONFLICT DO NOTHING rather than catching IntegrityError: the caller's transaction (a batch of
    # deliveries) stays usable, and a concurrent second delivery of the same recipient is a no-op.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Card).values(**values).on_conflict_do_nothing(index_elements=["recipient_id"]).returning(Card.id)
    card_id = (await session.execute(stmt)).scalar_one_or_none()
    if card_id is None:
        return None
    return (await session.execute(select(Card).where(Card.id == card_id))).scalar_one()


async def cards_for(session: AsyncSession, citizen_id: str, now: datetime, *, limit: int = MAX_SHOWN) -> list[Card]:
    """The citizen's cards worth showing: not expired, not dismissed, their link not revoked or expired;
    newest first, at most `limit` (a page of to-dos, not an inbox)."""
    stmt = (
        select(Card)
        .outerjoin(OutreachLink, OutreachLink.id == Card.link_id)
        .where(Card.citizen_id == citizen_id, Card.expires_at > now, Card.dismissed_at.is_(None))
        # A card whose link was revoked or has run out would lead to an error page: it is not shown.
        .where(or_(Card.link_id.is_(None), and_(OutreachLink.revoked_at.is_(None), OutreachLink.expires_at > now)))
        .order_by(Card.created_at.desc(), Card.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def mark_seen(session: AsyncSession, cards: Sequence[Card], now: datetime) -> int:
    """Note the first time each card was shown, and count that once as the funnel's `delivered` stage of
    the person it was sent to. How many were seen for the first time; the caller commits."""
    first = 0
    for card in cards:
        if card.seen_at is not None:
            continue
        # Conditional update: two pages open at once mark a card once.
        updated = await session.execute(
            update(Card).where(Card.id == card.id, Card.seen_at.is_(None)).values(seen_at=now)
        )
        if not rowcount(updated):
            continue
        card.seen_at = now
        first += 1
        await _delivered(session, card, now)
    return first


async def _delivered(session: AsyncSession, card: Card, now: datetime) -> None:
    link = await session.get(OutreachLink, card.link_id) if card.link_id else None
    if card.recipient_id is not None:
        subject = funnel.recipient_subject(card.recipient_id)
    elif card.link_id is not None:
        subject = funnel.link_subject(card.link_id)
    else:
        return  # neither a campaign's recipient nor a link: nothing in the funnel to count it under
    await funnel.record(session, subject=subject, stage=funnel.Stage.DELIVERED, campaign_id=card.campaign_id,
                        segment=link.segment if link else None, channel=CHANNEL, business=card.business, at=now)


async def dismiss(session: AsyncSession, *, citizen_id: str, card_id: int, now: datetime) -> bool:
    """The citizen put the card away; False when it is not one of theirs (or no longer exists). A second
    dismissal is not an error. The caller commits."""
    card = await session.scalar(select(Card).where(Card.id == card_id, Card.citizen_id == citizen_id))
    if card is None:
        return False
    if card.dismissed_at is None:
        card.dismissed_at = now
    return True


def business_name(settings: Settings, card: Card) -> str:
    """What the card offers, as "您可以办理：<this>": the business's name in the centre's catalogue
    (params/business.yml) without the form's "申请", so the card names the business whatever its campaign
    was called; the card's own title where the catalogue does not know the code."""
    known = links.business(settings, card.business)
    if known is None:
        return card.title
    return known.name.removesuffix("申请") or known.name


def card_url(settings: Settings, card: Card) -> str | None:
    """Where the card's button goes: its personal link (the same URL the link's message carried)."""
    return links.url_for(settings, card.link_id) if card.link_id else None
