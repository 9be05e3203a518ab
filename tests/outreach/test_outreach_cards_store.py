"""Cards in the database: one per campaign recipient, only the citizen's own, newest first, not expired,
not dismissed; the first sight of a card counts once as the funnel's delivered stage."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conversations.models import Citizen
from core.db import make_engine, make_sessionmaker
from outreach import cards

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
