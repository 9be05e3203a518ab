"""Campaigns: prepare (JSON list or uploaded file), dry run, approve (a second person), start, pause,
resume, cancel, and status with counts by outcome."""
from __future__ import annotations

import json

from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import ValidationError

from callout import campaigns, uploads
from callout.deps import CalloutDep, CampaignPreparer
from callout.schemas import CampaignCreated, CampaignIn, CampaignList, CampaignOut, CampaignSpec, DryRun
from core.errors import INVALID_REQUEST, ApiError, error_responses
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, Supervisor

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])
READ = (SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST)
CHANGE = (*READ, CSRF_ERRORS)
FOUND = {404: ("campaign_not_found",)}
STATE = (FOUND, {409: ("campaign_state",)})
# A campaign that cannot be prepared: its text, calling windows, dates or recipients (422).
PREPARE = {422: (
    "message_missing", "message_too_long", "placeholder_invalid", "unknown_variable", "window_invalid",
    "days_invalid", "dates_invalid", "phone_column_missing", "too_many_recipients", "no_valid_recipients",
    "wechat_template_missing", "wechat_field_invalid", "sms_message_missing",
)}
# An uploaded list that cannot be read.
UPLOAD = {413: ("file_too_large",), 422: ("file_type_unsupported", "file_unreadable", "file_empty")}


@router.post("", status_code=201, response_model=CampaignCreated, summary="Prepare a campaign (draft)",
             responses=error_responses(*CHANGE, PREPARE))
async def create(body: CampaignIn, callout: CalloutDep, me: CampaignPreparer) -> dict:
    header, rows = uploads.from_json(body.recipients)
    spec = CampaignSpec.model_validate(body.model_dump(exclude={"recipients"}))
    return await _created(callout, me, spec, header, rows)


@router.post("/import", status_code=201, response_model=CampaignCreated,
             summary="Prepare a campaign from a CSV or XLSX file, with a report of its bad rows",
             responses=error_responses(*CHANGE, UPLOAD, PREPARE, {422: ("campaign_invalid",)}))
async def create_from_file(
    callout: CalloutDep, me: CampaignPreparer,
    file: UploadFile = File(..., description="CSV or XLSX: a phone column, name, one column per variable"),
    campaign: str = Form(..., description="the campaign as JSON, as for POST /api/v1/campaigns without recipients"),
) -> dict:
    content = await file.read(uploads.MAX_FILE_BYTES + 1)
    if len(content) > uploads.MAX_FILE_BYTES:
        raise ApiError(413, "file_too_large", "名单文件不能超过20MB，请拆分后导入。")
    try:
        spec = CampaignSpec.model_validate(json.loads(campaign))
    except (ValueError, ValidationError):
        raise ApiError(422, "campaign_invalid", "外呼任务的设置不完整或格式不正确。") from None
    header, rows = uploads.read_file(file.filename or "", content)
    return await _created(callout, me, spec, header, rows)


async def _created(callout, me, spec: CampaignSpec, header: list[str], rows) -> dict:
    campaign, suppressed, rejected = await campaigns.create(callout, me, spec, header, rows)
    counts = await campaigns.describe(callout, campaign.id)
    return {"id": campaign.id, "status": campaign.status, "accepted": counts["counts"]["total"],
            "suppressed": suppressed, "rejected": rejected}


@router.get("", response_model=CampaignList, summary="The latest campaigns with their counts",
            responses=error_responses(*READ))
async def listing(callout: CalloutDep, me: CampaignPreparer, limit: int = Query(50, ge=1, le=200)) -> dict:
    return {"campaigns": await campaigns.listing(callout, limit)}


@router.get("/{campaign_id}", response_model=CampaignOut, summary="A campaign's settings, status and counts",
            responses=error_responses(*READ, FOUND))
async def show(campaign_id: int, callout: CalloutDep, me: CampaignPreparer) -> dict:
    return await campaigns.describe(callout, campaign_id)


@router.get("/{campaign_id}/dry-run", response_model=DryRun,
            summary="Who would be called when, with each person's text (nothing is sent)",
            responses=error_responses(*READ, FOUND))
async def dry_run(campaign_id: int, callout: CalloutDep, me: CampaignPreparer,
                  limit: int = Query(50, ge=1, le=500)) -> dict:
    return await campaigns.dry_run(callout, campaign_id, limit)


@router.post("/{campaign_id}/approve", response_model=CampaignOut,
             summary="Approve (a supervisor or admin other than the one who prepared it)",
             responses=error_responses(*CHANGE, *STATE, {403: ("own_campaign",)}))
async def approve(campaign_id: int, callout: CalloutDep, me: Supervisor) -> dict:
    await campaigns.approve(callout, me, campaign_id)
    return await campaigns.describe(callout, campaign_id)


@router.post("/{campaign_id}/start", response_model=CampaignOut, summary="Start an approved campaign",
             responses=error_responses(*CHANGE, *STATE, {503: ("outbound_not_configured",)}))
async def start(campaign_id: int, callout: CalloutDep, me: CampaignPreparer) -> dict:
    await campaigns.start(callout, me, campaign_id)
    return await campaigns.describe(callout, campaign_id)


@router.post("/{campaign_id}/pause", response_model=CampaignOut, summary="No new calls until resumed",
             responses=error_responses(*CHANGE, *STATE))
async def pause(campaign_id: int, callout: CalloutDep, me: CampaignPreparer) -> dict:
    await campaigns.pause(callout, me, campaign_id)
    return await campaigns.describe(callout, campaign_id)


@router.post("/{campaign_id}/resume", response_model=CampaignOut, summary="Carry on a paused campaign",
             responses=error_responses(*CHANGE, *STATE, {503: ("outbound_not_configured",)}))
async def resume(campaign_id: int, callout: CalloutDep, me: CampaignPreparer) -> dict:
    await campaigns.start(callout, me, campaign_id)
    return await campaigns.describe(callout, campaign_id)


@router.post("/{campaign_id}/cancel", response_model=CampaignOut, summary="Stop for good; nobody else is called",
             responses=error_responses(*CHANGE, *STATE))
async def cancel(campaign_id: int, callout: CalloutDep, me: CampaignPreparer) -> dict:
    await campaigns.cancel(callout, me, campaign_id)
    return await campaigns.describe(callout, campaign_id)
