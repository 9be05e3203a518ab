"""The business system's completion webhook (documented in docs/outreach.md, "Completion webhook")."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from core.errors import ApiError, error_responses
from core.limits import RATE_LIMITED, by_address
from outreach import completions
from outreach.deps import OutreachDep

router = APIRouter(prefix="/api/v1/outreach", tags=["outreach: funnel"])


class Accepted(BaseModel):
    status: str = Field(description="accepted")
    link_id: str
    counted: bool = Field(description="false when the link's completion had already been counted")


@router.post(
    "/completions", response_model=Accepted, summary="The business system reports a business completed (signed)",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": completions.Completion.model_json_schema()}}}},
    responses=error_responses(
        {401: ("bad_signature", "stale_request"), 409: ("replayed",), 404: ("link_not_found",),
         413: ("too_large",), 422: ("invalid_request", "handoff_invalid", "business_mismatch")}, RATE_LIMITED),
    # The business system calls from few addresses, but an unsigned flood from anywhere must stop early.
    dependencies=[Depends(by_address("completions"))],
)
async def completion(
    request: Request, outreach: OutreachDep,
    x_hpf_timestamp: str | None = Header(None, description="Unix seconds when the call was signed"),
    x_hpf_signature: str | None = Header(None, description="hex HMAC-SHA256 of '<timestamp>.<raw body>'"),
) -> dict[str, object]:
    # The raw bytes, as signed: the body is parsed only after its signature holds.
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > completions.MAX_BODY_BYTES:
            raise ApiError(413, "too_large", "请求内容过大。")
    return await completions.complete(outreach, timestamp=x_hpf_timestamp, given=x_hpf_signature, body=body)
