"""The campaigns as the outreach funnel names them (it sits below the engine and cannot read its tables)."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callout.models import Campaign
from outreach.funnel import CampaignInfo


async def campaign_infos(session: AsyncSession, ids: Sequence[int]) -> dict[int, CampaignInfo]:
    """Name and preparer of each campaign among `ids` that exists."""
    if not ids:
        return {}
    rows = await session.execute(select(Campaign.id, Campaign.name, Campaign.created_by).where(Campaign.id.in_(ids)))
    return {id_: CampaignInfo(name=name, created_by=created_by) for id_, name, created_by in rows.all()}
