"""The app backend's delivery receipts for our pushes: signed with APP_PUSH_SECRET like our requests to
it (callout/push.py), naming a push by the `push_id` we gave it."""
from __future__ import annotations

import json
import logging
import time

from fastapi import APIRouter, Request, Response

from callout import delivery, push
from callout.deps import CalloutDep
from core.errors import ApiError, error_responses

log = logging.getLogger(__name__)
router = APIRouter(prefix="/callout/app-push", tags=["outreach: app push"])
MAX_BODY = 4096


@router.post(
    "/receipts", status_code=204, response_class=Response,
    summary="The app showed a pushed notice: {\"push_id\", \"status\": \"delivered\"}, signed (docs/outreach.md)",
    responses=error_responses({403: ("bad_signature",), 404: ("unknown_push",), 413: ("too_large",),
                               422: ("invalid_request",), 503: ("push_not_configured",)}),
)
async def receipt(request: Request, callout: CalloutDep) -> Response:
    secret = callout.settings.app_push_secret.get_secret_value()
    if not secret:
        raise ApiError(503, "push_not_configured", "App 推送尚未配置。")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413, "too_large", "请求内容过大。")
    if not push.verify(secret, request.headers.get(push.TIMESTAMP_HEADER, ""),
                       request.headers.get(push.SIGNATURE_HEADER, ""), body, time.time()):
        log.warning("refused an app push receipt with a bad or stale signature")
        raise ApiError(403, "bad_signature", "请求签名无效。")
    try:
        fields = json.loads(body)
        pushed, status = str(fields["push_id"]), str(fields["status"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(422, "invalid_request", "回执内容不正确：需要 push_id 和 status。") from None
    attempt_id = push.attempt_of(secret, pushed)
    if attempt_id is None or not await delivery.attempt_exists(callout, attempt_id, channel="push"):
        raise ApiError(404, "unknown_push", "没有这条推送。")
    if status == delivery.MESSAGE_DELIVERED:  # other statuses are the app's own business
        await delivery.on_message_status(callout, attempt_id, status, None)
    return Response(status_code=204)
