"""A campaign from a segment: the people a rule in policy/segments matches, each with a personal link, as a
draft that a second person approves like any other."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from callout import segment_campaigns, uploads
from callout.deps import CalloutDep, CampaignPreparer
from callout.routes.campaigns import CHANGE, PREPARE
from callout.schemas import CampaignSpec
from core.errors import ApiError, error_responses
from core.settings import Settings
from outreach.centre_data import open_source
from outreach.links import MAX_TTL_S
from outreach.routes.segments import LOCAL, UNAVAILABLE, asked_for, find, loan_rules
from outreach.segments import EventError, Match, Segment, evaluate

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])


class SegmentCampaignIn(CampaignSpec):
    """The campaign's name, windows and dates as for any campaign; its people and texts come from the segment."""

    segment: str = Field(..., max_length=64)
    channel: Literal["voice", "sms", "wechat", "push", "card"] = "sms"  # type: ignore[assignment]
    message: str | None = Field(None, description="ignored: the segment's text for the channel is the message")  # type: ignore[assignment]
    link_ttl_s: int | None = Field(None, ge=segment_campaigns.MIN_TTL_S, le=MAX_TTL_S,
                                   description="default OUTREACH_LINK_TTL_S")
    event: dict[str, Any] | None = Field(None, description="an event segment's event, as for the preview")


class SegmentCampaignCreated(BaseModel):
    id: int
    status: str
    segment: str
    business: str
    matched: int = Field(description="everyone the segment matched")
    without_mobile: int = Field(description="matched, but the centre's data has no mobile: not in the campaign")
    accepted: int
    suppressed: int
    rejected: list[dict]


def _matches(settings: Settings, segment: Segment, event: dict[str, Any] | None, now: datetime,
             asked: dict[str, float]) -> tuple[list[Match], int]:
    """The matches with a mobile (at most one more than a campaign may hold) and how many had none. Runs
    in a thread: it reads the whole source."""
    params, rates = loan_rules(settings, now)
    source = open_source(settings)
    kept: list[Match] = []
    without = 0
    try:
        for match in evaluate(segment, source, params=params, rates=rates,
                              secret=settings.session_secret.get_secret_value(), event=event, asked=asked,
                              today=now.astimezone(LOCAL).date()):
            if not match.mobile:
                without += 1
            elif len(kept) > uploads.MAX_RECIPIENTS:
                raise ApiError(422, "too_many_recipients",
                               f"这个分群超过{uploads.MAX_RECIPIENTS}人，一次最多{uploads.MAX_RECIPIENTS}人，请收窄条件。")
            else:
                kept.append(match)
    except EventError as exc:
        raise ApiError(422, "event_invalid", str(exc)) from None
    return kept, without


@router.post("/from-segment", status_code=201, response_model=SegmentCampaignCreated,
             summary="Prepare a campaign (draft) from a segment: its matches with a mobile, a personal link each",
             responses=error_responses(*CHANGE, PREPARE, UNAVAILABLE, {404: ("segment_not_found",)}, {422: (
                 "event_invalid", "channel_text_missing", "channel_needs_citizen", "ttl_invalid")}))
async def from_segment(body: SegmentCampaignIn, callout: CalloutDep, me: CampaignPreparer) -> dict:
    segment = find(callout.settings, body.segment)
    now = callout.clock.now()
    asked = await asked_for(segment, callout.sessions)
    kept, without = await run_in_threadpool(_matches, callout.settings, segment, body.event, now, asked)
    if not kept:
        raise ApiError(422, "no_valid_recipients", "这个分群现在没有可以联系的人（没有人符合条件，或都没有手机号）。",
                       matched=without, without_mobile=without)
    spec = CampaignSpec.model_validate(
        body.model_dump(exclude={"segment", "link_ttl_s", "event", "channel", "message"}) | {"message": "-"})
    prepared = await segment_campaigns.prepare_reported(
        callout, me.actor, segment=segment, matches=kept, channel=body.channel, name=body.name,
        ttl_s=body.link_ttl_s, created_by=me.id, spec=spec)
    campaign = prepared.campaign
    assert campaign is not None
    return {"id": campaign.id, "status": campaign.status, "segment": segment.key, "business": segment.business,
            "matched": prepared.matched + without, "without_mobile": prepared.without_mobile + without,
            "accepted": prepared.matched - len(prepared.rejected), "suppressed": prepared.suppressed,
            "rejected": prepared.rejected}
