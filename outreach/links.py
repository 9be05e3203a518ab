"""Personal 一点就能办 links: one business for one person, until they expire or are revoked.

The URL carries only an opaque token, `<random id>.<HMAC>` (core.signing, purpose "outreach-link",
keyed with SESSION_SECRET): no name, number or amount. Everything the page shows (masked facts, the
checklist answers the centre's data gives) stays in the `outreach_links` row; a token whose signature
does not match is refused before the database is asked.
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from core import signing
from core.settings import Settings
from outreach.context import Outreach
from outreach.models import OutreachLink
from policy.checklist_rules import Checklist, Checklists

PURPOSE = "outreach-link"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# A link's life is bounded above, so that a forwarded or forgotten message stops working. Below, a second
# is allowed: an agent may give a citizen on the line a link for the next minute only (campaigns default
# to OUTREACH_LINK_TTL_S, days).
MIN_TTL_S = 1
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


# -- opening a link -------------------------------------------------------------------------------


class LinkRefused(Exception):
    """A link that cannot be used; the page or JSON error says why, and nothing about whose it was."""

    def __init__(self, status: int, code: str, title: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.title, self.message = status, code, title, message


def refused_invalid() -> LinkRefused:
    return LinkRefused(403, "link_invalid", "链接无效",
                       "这个链接不完整或已被改动，无法打开。请使用中心发给您的原始链接。")


def refused_unknown() -> LinkRefused:
    return LinkRefused(404, "link_not_found", "链接不存在", "没有找到这个链接。请使用中心发给您的原始链接。")


async def resolve(session: AsyncSession, settings: Settings, token: str, now: datetime) -> OutreachLink:
    """The link a token names, if it may be used now; otherwise `LinkRefused`. The signature is checked
    before the database is asked, so made-up tokens cost nothing and learn nothing."""
    link_id = link_id_of(settings, token) if len(token) <= 128 else None
    if link_id is None:
        raise refused_invalid()
    link = await session.get(OutreachLink, link_id)
    if link is None:
        raise refused_unknown()
    hotline = settings.hotline
    if link.revoked_at is not None:
        raise LinkRefused(410, "link_revoked", "链接已停用",
                          f"这个链接已被中心停用。如需办理，请重新获取链接或拨打{hotline}咨询。")
    if link.expires_at <= now:
        raise LinkRefused(410, "link_expired", "链接已过期",
                          f"这个链接已过有效期。如需办理，请重新获取链接或拨打{hotline}咨询。")
    if business(settings, link.business) is None:
        raise LinkRefused(410, "business_withdrawn", "业务已调整",
                          f"这项网上业务已调整，链接不再可用。请拨打{hotline}咨询现在的办理方式。")
    return link


async def revoke(session: AsyncSession, link: OutreachLink, *, by: int | None, now: datetime) -> None:
    """Stop a link for good (the caller commits); revoking twice keeps the first time."""
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = now, by


# -- the centre's online businesses --------------------------------------------------------------


@dataclass(frozen=True)
class Business:
    key: str
    name: str
    url: str


class _Catalogue:
    """policy/params/business.yml, re-read when the centre edits it (a link to a business no longer
    offered stops working at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple[float, dict[str, Business]]] = {}

    def read(self, path: Path) -> dict[str, Business]:
        try:
            stamp = path.stat().st_mtime
        except OSError:
            return {}
        with self._lock:
            cached = self._seen.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found = {
            str(key): Business(str(key), str(entry["name"]), str(entry["url"]))
            for key, entry in raw.items()
            if isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("url"), str)
        }
        with self._lock:
            self._seen[path] = (stamp, found)
        return found


_CATALOGUE = _Catalogue()


def businesses(settings: Settings) -> dict[str, Business]:
    return _CATALOGUE.read(settings.loan_params_path.parent / "business.yml")


def business(settings: Settings, key: str) -> Business | None:
    return businesses(settings).get(key)


def checklist_for(checklists: Checklists, offered: Business, case: str | None = None) -> Checklist | None:
    """The eligibility checklist of a business: the one the link names, else the one whose form it is."""
    if case is not None and case in checklists.cases:
        return checklists.cases[case]
    return next((c for c in checklists.cases.values()
                 if c.business_link is not None and c.business_link.get("url") == offered.url), None)
