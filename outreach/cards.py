"""Personal cards (您可以办理：…) on the citizen's own pages: written by the campaign engine's card channel,
read by the citizen's web page, the app and the WeChat menu's landing page.

A card belongs to one citizen; every reader names the citizen it serves, never a card alone, so one
citizen never sees another's card.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.models import Card


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
