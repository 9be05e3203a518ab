"""Cards in the database: one per campaign recipient, only the citizen's own, newest first, not expired,
not dismissed; the first sight of a card counts once as the funnel's delivered stage."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from conversations.models import Citizen
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from outreach import cards, links
from outreach.models import Card, FunnelEvent

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
async def sessions(database_url):
    engine = make_engine(database_url)
    factory = make_sessionmaker(engine)
    async with factory() as session:
        session.add_all([Citizen(id="c-alice"), Citizen(id="c-bob")])
        await session.commit()
    yield factory
    await engine.dispose()


def card_args(**overrides: object) -> dict:
    args: dict = {"citizen_id": "c-alice", "business": "withdraw_commercial_loan", "title": "偿还商贷提取",
                  "text": "您有商业贷款，可以按月提取公积金还贷。", "link_id": None, "campaign_id": 7,
                  "recipient_id": 1, "expires_at": NOW + timedelta(days=7)}
    args.update(overrides)
    return args


async def test_one_card_per_recipient(sessions) -> None:
    async with sessions() as session:
        first = await cards.post_card(session, **card_args())
        again = await cards.post_card(session, **card_args(text="第二次投递"))
        other = await cards.post_card(session, **card_args(recipient_id=2))
        await session.commit()
    assert first is not None and first.id and first.citizen_id == "c-alice"
    assert again is None
    assert other is not None and other.id != first.id


async def add_link(sessions, *, revoked: bool = False, expires_at: datetime | None = None) -> str:
    settings = Settings(data_dir=Path("/nonexistent"))
    row, issued = links.new_link(settings, business="withdraw-repay-commercial-loan", now=NOW - timedelta(hours=1),
                                 citizen_id="c-alice", segment="borrowers-no-withdrawal", channel="card", ttl_s=86400)
    if revoked:
        row.revoked_at = NOW - timedelta(minutes=1)
    if expires_at is not None:
        row.expires_at = expires_at
    async with sessions() as session:
        session.add(row)
        await session.commit()
    return issued.id


async def test_shown_newest_first_until_expired_dismissed_or_link_revoked(sessions) -> None:
    alive = await add_link(sessions)
    revoked = await add_link(sessions, revoked=True)
    run_out = await add_link(sessions, expires_at=NOW - timedelta(seconds=1))
    async with sessions() as session:
        old = await cards.post_card(session, **card_args(recipient_id=1, link_id=alive))
        await session.flush()
        newer = await cards.post_card(session, **card_args(recipient_id=2, title="偿还公积金贷款提取"))
        expired = await cards.post_card(session, **card_args(recipient_id=3, expires_at=NOW))
        await cards.post_card(session, **card_args(recipient_id=4, link_id=revoked))
        await cards.post_card(session, **card_args(recipient_id=5, link_id=run_out))
        bobs = await cards.post_card(session, **card_args(recipient_id=6, citizen_id="c-bob"))
        assert old and newer and expired and bobs
        old.created_at = NOW - timedelta(days=1)
        await session.commit()
    async with sessions() as session:
        shown = await cards.cards_for(session, "c-alice", NOW)
        assert [card.id for card in shown] == [newer.id, old.id]
        assert await cards.dismiss(session, citizen_id="c-alice", card_id=newer.id, now=NOW)
        assert await cards.dismiss(session, citizen_id="c-alice", card_id=newer.id, now=NOW), "twice is no error"
        assert not await cards.dismiss(session, citizen_id="c-alice", card_id=bobs.id, now=NOW), "not hers"
        await session.commit()
        assert [card.id for card in await cards.cards_for(session, "c-alice", NOW)] == [old.id]
        assert [card.id for card in await cards.cards_for(session, "c-bob", NOW)] == [bobs.id]


async def test_first_sight_counts_once_as_delivered(sessions) -> None:
    link_id = await add_link(sessions)
    async with sessions() as session:
        campaign_card = await cards.post_card(session, **card_args(recipient_id=9, link_id=link_id))
        linked_only = await cards.post_card(session, **card_args(recipient_id=None, link_id=link_id))
        await session.commit()
    for _ in range(2):
        async with sessions() as session:
            shown = await cards.cards_for(session, "c-alice", NOW)
            await cards.mark_seen(session, shown, NOW + timedelta(minutes=5))
            await session.commit()
    async with sessions() as session:
        events = (await session.execute(select(FunnelEvent).order_by(FunnelEvent.subject))).scalars().all()
        assert [(e.subject, e.stage, e.channel, e.segment, e.campaign_id) for e in events] == [
            (f"l:{link_id}", "delivered", "card", "borrowers-no-withdrawal", 7),
            ("r:9", "delivered", "card", "borrowers-no-withdrawal", 7),
        ]
        seen = (await session.execute(select(Card).order_by(Card.id))).scalars().all()
        assert {card.id: card.seen_at for card in seen} == {
            campaign_card.id: NOW + timedelta(minutes=5), linked_only.id: NOW + timedelta(minutes=5),
        }


def test_the_card_names_the_business_from_the_catalogue() -> None:
    settings = Settings(data_dir=Path("/nonexistent"))
    posted = Card(business="withdraw-repay-commercial-loan", title="十二月还款提醒")
    assert cards.business_name(settings, posted) == "偿还商业贷款提取"
    assert cards.business_name(settings, Card(business="not-in-the-catalogue", title="偿还商贷提取")) == "偿还商贷提取"
