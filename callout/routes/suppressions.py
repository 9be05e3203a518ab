"""The suppression list (不再来电): any staff member adds a number a citizen asked not to be called on;
those who prepare campaigns import lists."""
from __future__ import annotations

from fastapi import APIRouter, File, Response, UploadFile

from callout import phones, suppressions, uploads
from callout.deps import CalloutDep, CampaignPreparer
from callout.schemas import SuppressionImport, SuppressionIn, SuppressionOut
from core.errors import INVALID_REQUEST, ApiError, error_responses
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, CurrentAgent

router = APIRouter(prefix="/api/v1/outreach/suppressions", tags=["outreach: suppressions"])


@router.post(
    "", status_code=201, response_model=SuppressionOut,
    summary="Never call or message this number again (201 added, 200 already listed)",
    responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST, {
        422: ("phone_missing", "phone_malformed", "phone_not_mainland", "phone_not_personal"),
    }),
)
async def add(body: SuppressionIn, callout: CalloutDep, me: CurrentAgent, response: Response) -> dict:
    try:
        phone = phones.normalise(body.phone)
    except phones.BadNumber as bad:
        raise ApiError(422, bad.code, bad.message) from None
    entry, created = await suppressions.add(callout.sessions, phone, source="staff", actor=me.actor,
                                            reason=body.reason, evidence={"by": me.username})
    if not created:
        response.status_code = 200
    return {"phone": phones.mask(entry.phone), "source": entry.source, "created": created,
            "created_at": entry.created_at.isoformat()}


@router.post(
    "/import", response_model=SuppressionImport, summary="Add every number of a CSV or XLSX file",
    responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, ROLE_ERRORS, INVALID_REQUEST, {
        413: ("file_too_large",), 422: ("file_type_unsupported", "file_unreadable", "file_empty"),
    }),
)
async def import_file(callout: CalloutDep, me: CampaignPreparer, file: UploadFile = File(...)) -> dict:
    content = await file.read(uploads.MAX_FILE_BYTES + 1)
    if len(content) > uploads.MAX_FILE_BYTES:
        raise ApiError(413, "file_too_large", "名单文件不能超过20MB，请拆分后导入。")
    return await suppressions.import_rows(callout.sessions, file.filename or "", content, me.actor)
