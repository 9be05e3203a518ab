"""Personal 一点就能办 links: one business for one person, until they expire or are revoked.

The URL carries only an opaque token, `<random id>.<HMAC>` (core.signing, purpose "outreach-link",
keyed with SESSION_SECRET): no name, number or amount. Everything the page shows (masked facts, the
checklist answers the centre's data gives) stays in the `outreach_links` row; a token whose signature
does not match is refused before the database is asked.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import signing
from core.settings import Settings
from outreach.context import Outreach
from outreach.models import OutreachLink

PURPOSE = "outreach-link"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# A link's life is bounded: long enough for a campaign's message to be read, short enough that a
# forwarded or forgotten message stops working (the same bounds as OUTREACH_LINK_TTL_S).
MIN_TTL_S = 60
MAX_TTL_S = 90 * 86400


@dataclass(frozen=True)
class IssuedLink:
    id: str
    url: str
    expires_at: datetime


def token_for(settings: Settings, link_id: str) -> str:
    return signing.sign(settings.session_secret.get_secret_value(), PURPOSE, link_id)


def link_id_of(settings: Settings, token: str) -> str | None:
    """The link id a token names, or None when it was not signed by us (tampered or made up)."""
    return signing.unsign(settings.session_secret.get_secret_value(), PURPOSE, token)


def url_for(settings: Settings, link_id: str) -> str:
    base = (settings.public_base_url or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/o/{token_for(settings, link_id)}"


def new_link(settings: Settings, *, business: str, now: datetime, checklist: str | None = None,
             citizen_id: str | None = None, depositor_ref: str | None = None,
             facts: dict[str, Any] | None = None, answers: dict[str, Any] | None = None,
             ttl_s: int | None = None, campaign_id: int | None = None, recipient_id: int | None = None,
             segment: str | None = None, channel: str | None = None,
             created_by: int | None = None) -> tuple[OutreachLink, IssuedLink]:
    """A new link's row (not yet added: a campaign inserts thousands at once) and what to send."""
    life = settings.outreach_link_ttl_s if ttl_s is None else ttl_s
    if not MIN_TTL_S <= life <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be between {MIN_TTL_S} and {MAX_TTL_S}")
    # 16 random bytes → 22 url-safe characters: unguessable, and the id says nothing about its owner.
    link_id = secrets.token_urlsafe(16)
    expires_at = now + timedelta(seconds=life)
    row = OutreachLink(
        id=link_id, business=business, checklist=checklist, citizen_id=citizen_id,
        depositor_ref=depositor_ref, facts=dict(facts or {}), answers=dict(answers or {}),
        campaign_id=campaign_id, recipient_id=recipient_id, segment=segment, channel=channel,
        created_by=created_by, created_at=now, expires_at=expires_at, opens=0,
    )
    return row, IssuedLink(id=link_id, url=url_for(settings, link_id), expires_at=expires_at)


async def issue(outreach: Outreach, *, business: str, checklist: str | None = None,
                citizen_id: str | None = None, depositor_ref: str | None = None,
                facts: dict[str, Any] | None = None, answers: dict[str, Any] | None = None,
                ttl_s: int | None = None, campaign_id: int | None = None, recipient_id: int | None = None,
                segment: str | None = None, channel: str | None = None,
                created_by: int | None = None) -> IssuedLink:
    """Make one link, store it and commit."""
    row, issued = new_link(
        outreach.settings, business=business, now=outreach.clock.now(), checklist=checklist,
        citizen_id=citizen_id, depositor_ref=depositor_ref, facts=facts, answers=answers, ttl_s=ttl_s,
        campaign_id=campaign_id, recipient_id=recipient_id, segment=segment, channel=channel,
        created_by=created_by,
    )
    async with outreach.sessions() as session:
        session.add(row)
        await session.commit()
    return issued
