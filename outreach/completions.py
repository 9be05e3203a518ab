"""The business system tells us a business was completed (the funnel's last stage), by a signed webhook.

`X-Hpf-Signature` is the hex HMAC-SHA256 of `<X-Hpf-Timestamp>.<raw body>` keyed with
OUTREACH_BUSINESS_SECRET; the timestamp (Unix seconds) must be within WINDOW of our clock and the body's
nonce new. docs/outreach.md ("Completion webhook") is what the business system is given.

Checks run cheapest and least revealing first: the signature (nothing unsigned is read), the time, the
body, then the nonce and the link in one transaction; any refusal rolls it back, so a refused call leaves
no trace (its nonce is not spent, nothing is counted).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, ValidationError, model_validator
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ApiError
from outreach import funnel, handoff
from outreach.context import Outreach
from outreach.models import OutreachLink, WebhookNonce

WINDOW = timedelta(minutes=5)
# A nonce is kept a while past the window: a replay inside it is refused by the nonce, after it by the time.
KEEP_NONCES = 2 * WINDOW
MAX_BODY_BYTES = 16 * 1024


class Completion(BaseModel):
    """The webhook's body."""

    link_id: str | None = Field(None, min_length=1, max_length=32, description="the link's id, or:")
    handoff: str | None = Field(None, min_length=1, max_length=handoff.MAX_CHARS,
                                description="the hpf_handoff value the form was opened with")
    business: str = Field(min_length=1, max_length=64)
    status: Literal["completed"]
    completed_at: AwareDatetime = Field(description="ISO 8601 with its offset")
    nonce: str = Field(min_length=8, max_length=64, description="new for every call")

    @model_validator(mode="after")
    def _one_reference(self) -> Completion:
        if (self.link_id is None) == (self.handoff is None):
            raise ValueError("give link_id or handoff, one of them")
        return self


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def check_signature(secret: str, timestamp: str | None, given: str | None, body: bytes, now: datetime) -> None:
    # compare_digest takes ASCII text only; anything else cannot be our hex anyway.
    if not timestamp or not given or not timestamp.isascii() or not given.isascii():
        raise ApiError(401, "bad_signature", "签名缺失或不正确。")
    if not hmac.compare_digest(given.strip().lower(), signature(secret, timestamp, body)):
        raise ApiError(401, "bad_signature", "签名缺失或不正确。")
    try:
        sent = datetime.fromtimestamp(int(timestamp), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ApiError(401, "stale_request", "请求时间不在有效期内，请同步时钟后重新发送。") from None
    if abs(now - sent) > WINDOW:
        raise ApiError(401, "stale_request", "请求时间不在有效期内，请同步时钟后重新发送。")


def parse(body: bytes) -> Completion:
    try:
        return Completion.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        raise ApiError(422, "invalid_request", "回调内容不符合要求，请检查后重试。") from None


def _handoff_link(secret: str, value: str) -> tuple[str, str]:
    """The link and business a hand-off names. Its own ten-minute life is for opening the form, not for
    finishing the business days later, so only its signature is held to: `verify` is given the moment it
    was issued (read from the payload before the check, but `verify` checks the signature first)."""
    payload = value.split(".", 1)[0]
    try:
        claimed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        issued = datetime.fromtimestamp(int(claimed["iat"]), tz=timezone.utc)
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, OverflowError, OSError):
        raise ApiError(422, "handoff_invalid", "办理凭证无效。") from None
    try:
        found = handoff.verify(secret, value, now=issued)
    except handoff.HandoffError:
        raise ApiError(422, "handoff_invalid", "办理凭证无效。") from None
    return found.link_id, found.business


async def _spend_nonce(session: AsyncSession, nonce: str, now: datetime) -> bool:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    inserted = await session.execute(
        dialect.insert(WebhookNonce).values(nonce=nonce, received_at=now)
        .on_conflict_do_nothing(index_elements=["nonce"]).returning(WebhookNonce.nonce)
    )
    return inserted.first() is not None


async def complete(outreach: Outreach, *, timestamp: str | None, given: str | None, body: bytes) -> dict[str, object]:
    """Check and apply one webhook call; what the route answers (or an ApiError)."""
    secret = outreach.settings.outreach_business_secret.get_secret_value()
    now = outreach.clock.now()
    check_signature(secret, timestamp, given, body, now)
    completion = parse(body)
    business: str | None = None  # the business a hand-off names (signed), held to the link's as well
    if completion.link_id is not None:
        link_id = completion.link_id
    else:
        link_id, business = _handoff_link(secret, completion.handoff or "")
    async with outreach.sessions() as session:
        if not await _spend_nonce(session, completion.nonce, now):
            raise ApiError(409, "replayed", "该回调已处理过（nonce 重复）。")
        link = await session.scalar(select(OutreachLink).where(OutreachLink.id == link_id).with_for_update())
        if link is None:
            raise ApiError(404, "link_not_found", "没有找到该办理链接。")
        if completion.business != link.business or (business is not None and business != link.business):
            raise ApiError(422, "business_mismatch", "回调的业务与该链接的业务不一致。")
        if link.completed_at is None:
            link.completed_at = completion.completed_at
        counted = await funnel.record(
            session, subject=funnel.link_subject(link.id, link.recipient_id), stage=funnel.Stage.COMPLETED,
            campaign_id=link.campaign_id, segment=link.segment, channel=link.channel, business=link.business,
            at=completion.completed_at,
        )
        await session.execute(delete(WebhookNonce).where(WebhookNonce.received_at < now - KEEP_NONCES))
        await session.commit()
    return {"status": "accepted", "link_id": link_id, "counted": counted}
