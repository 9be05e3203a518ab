"""Per-recipient drill-down of a campaign and its CSV export (numbers masked)."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from callout import reports
from callout.deps import CalloutDep, CampaignPreparer
from callout.models import Outcome, RecipientState
from callout.routes.campaigns import FOUND, READ
from callout.schemas import RecipientDetail, RecipientPage, Timeline
from core.errors import error_responses

router = APIRouter(prefix="/api/v1/campaigns/{campaign_id}", tags=["campaigns"])


class CsvDownload(StreamingResponse):
    """A spreadsheet to save (the OpenAPI document shows the media type)."""

    media_type = "text/csv"


@router.get("/recipients", response_model=RecipientPage, summary="The campaign's recipients, page by page",
            responses=error_responses(*READ, FOUND))
async def recipients(
    campaign_id: int, callout: CalloutDep, me: CampaignPreparer,
    state: RecipientState | None = None, outcome: Outcome | None = None,
    offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=500),
) -> dict:
    return await reports.recipients(callout, campaign_id, state=state, outcome=outcome, offset=offset, limit=limit)


@router.get("/recipients/{recipient_id}", response_model=RecipientDetail,
            summary="One recipient with every attempt", responses=error_responses(
                *READ, {404: ("campaign_not_found", "recipient_not_found")}))
async def recipient(campaign_id: int, recipient_id: int, callout: CalloutDep, me: CampaignPreparer) -> dict:
    return await reports.recipient(callout, campaign_id, recipient_id)


@router.get("/timeline", response_model=Timeline, summary="Calls ended per time bucket by outcome, and reach rates",
            responses=error_responses(*READ, FOUND))
async def timeline(
    campaign_id: int, callout: CalloutDep, me: CampaignPreparer,
    bucket: Literal["minute", "hour", "day"] = Query("hour", description="minute, hour or day (Asia/Shanghai)"),
) -> dict:
    return await reports.timeline(callout, campaign_id, bucket)


@router.get("/export.csv", response_class=CsvDownload, summary="Every recipient and their last attempt, CSV",
            responses=error_responses(*READ, FOUND, route_answers_json=False))
async def export(campaign_id: int, callout: CalloutDep, me: CampaignPreparer) -> CsvDownload:
    rows = reports.export_csv(callout, campaign_id)
    first = await anext(rows)  # a missing campaign is a 404 before any byte goes out
    return CsvDownload(_chain(first, rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="campaign-{campaign_id}.csv"'})


async def _chain(first: str, rest):
    yield first
    async for chunk in rest:
        yield chunk
