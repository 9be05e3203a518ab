"""Twilio webhook authentication: `X-Twilio-Signature` checked against the public URL Twilio signed.

Behind a proxy the URL the service sees is not the one Twilio requested, so it is rebuilt from
PUBLIC_BASE_URL + path + query; without PUBLIC_BASE_URL the request's own URL is used.
"""
from __future__ import annotations

import logging

from fastapi import Request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from core.deps import SettingsDep
from core.errors import ApiError
from core.settings import Settings

log = logging.getLogger(__name__)


def signed_url(request: Request, settings: Settings) -> str:
    base = settings.public_base_url.rstrip("/")
    if not base:
        return str(request.url)
    query = request.url.query
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


async def twilio_params(request: Request, settings: SettingsDep) -> dict[str, str]:
    """The POST parameters of a request proven to come from Twilio; 403 for anything else."""
    token = settings.twilio_auth_token.get_secret_value()
    if not token:
        raise ApiError(503, "phone_not_configured", "电话线路尚未配置。")
    form = await request.form()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    if not signature or not RequestValidator(token).validate(signed_url(request, settings), form, signature, algorithm):
        log.warning("refused a Twilio webhook with a bad signature: %s", request.url.path)
        raise ApiError(403, "bad_signature", "请求签名无效。")
    return {key: value for key, value in form.items() if isinstance(value, str)}
