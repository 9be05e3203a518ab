"""Policy events: changes that concern people, each noticed once.

- **A rate change.** The loan rates in force today (policy/params/loan.yml through policy.loan_params)
  are compared with the last ones seen, which are kept as PolicyEvent rows. The first sight is a
  baseline (`rate_seen`, nothing changed); every later difference is one `rate_change` event listing,
  for each column of the rate table that moved (first/second home, up to/over 5 years), the old and the
  new rate: the loans at the old rate are the ones affected.
- **A policy article.** A knowledge article whose live version says `policy_change: true` in its front
  matter is one `policy_article` event per article and effective date: a correction that keeps the
  date is not a new policy, a new date is.

A PolicyEvent's key is unique, so two processes noticing the same change at once make one row; the
one that inserts it prepares the draft campaign (callout/policy_events.py) and records it here.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.articles import ArticleError, split_front_matter
from knowledge.models import ArticleVersion
from outreach.models import PolicyEvent
from policy.loan_params import RateEntry

log = logging.getLogger(__name__)

RATE_SEEN = "rate_seen"
RATE_CHANGE = "rate_change"
POLICY_ARTICLE = "policy_article"
_RATE_KINDS = (RATE_SEEN, RATE_CHANGE)
_COLUMNS = (("first_home", "upto_5y"), ("first_home", "over_5y"), ("second_home", "upto_5y"),
            ("second_home", "over_5y"))


def rates_of(entry: RateEntry) -> dict[str, Any]:
    """The rate entry as stored in an event: its date and the four rates."""
    return {"effective": entry.effective.isoformat(),
            **{f"{home}.{column}": getattr(getattr(entry, home), column) for home, column in _COLUMNS}}


def rate_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Each old rate that moved, with its new rate. Two columns that had the same old rate but moved to
    different new ones cannot say which new rate a loan at that rate gets: those are left out (and
    logged) rather than guessed."""
    moves: dict[float, set[float]] = {}
    for home, column in _COLUMNS:
        key = f"{home}.{column}"
        before, after = old.get(key), new.get(key)
        if isinstance(before, (int, float)) and isinstance(after, (int, float)) and before != after:
            moves.setdefault(float(before), set()).add(float(after))
    changes = []
    for before, after in sorted(moves.items()):
        if len(after) > 1:
            log.warning("rate change: %s%% moved to several rates %s; its loans are not told", before, sorted(after))
            continue
        changes.append({"old_rate": before, "new_rate": after.pop(), "kind": "hpf"})
    return changes


async def _insert_once(session: AsyncSession, event: PolicyEvent) -> bool:
    """Adds the event unless its key exists (another process noticed it first)."""
    try:
        async with session.begin_nested():
            session.add(event)
        return True
    except IntegrityError:
        return False


async def notice_rates(session: AsyncSession, entry: RateEntry) -> PolicyEvent | None:
    """The rate_change event for `entry` (the rates in force today) if they differ from the last seen;
    None on the first sight (a baseline is recorded), when nothing changed, or when another process
    recorded this change first. The caller commits."""
    current = rates_of(entry)
    seen = select(PolicyEvent).where(PolicyEvent.kind.in_(_RATE_KINDS))
    last = await session.scalar(seen.order_by(PolicyEvent.id.desc()).limit(1))
    if last is not None and (last.detail or {}).get("rates") == current:
        return None
    count = await session.scalar(select(func.count()).select_from(seen.subquery())) or 0
    digest = hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest()[:16]
    key = f"rates:{count + 1}:{digest}"
    if last is None:
        await _insert_once(session, PolicyEvent(key=key, kind=RATE_SEEN, detail={"rates": current}))
        return None
    previous = (last.detail or {}).get("rates") or {}
    changes = rate_changes(previous, current)
    event = PolicyEvent(key=key, kind=RATE_CHANGE,
                        detail={"rates": current, "previous": previous, "changes": changes, "state": "noticed"})
    return event if await _insert_once(session, event) else None


@dataclass(frozen=True)
class ArticleCheck:
    events: list[PolicyEvent]
    last_version_id: int  # where the next check starts


async def notice_articles(session: AsyncSession, *, after_version_id: int = 0) -> ArticleCheck:
    """policy_article events for live article versions newer than `after_version_id` whose front matter
    says `policy_change: true`. The caller commits."""
    versions = list((await session.scalars(
        select(ArticleVersion).where(ArticleVersion.id > after_version_id).order_by(ArticleVersion.id))).all())
    if not versions:
        return ArticleCheck([], after_version_id)
    ids = {version.article_id for version in versions}
    rows = await session.execute(
        select(ArticleVersion.article_id, func.max(ArticleVersion.version))
        .where(ArticleVersion.article_id.in_(ids)).group_by(ArticleVersion.article_id))
    latest: dict[str, int] = {article_id: version for article_id, version in rows}
    events = []
    for version in versions:
        if version.retired or version.version != latest.get(version.article_id):
            continue  # only what citizens can read now
        try:
            meta, _ = split_front_matter(version.content, version.article_id)
        except ArticleError:
            continue
        if meta.get("policy_change") is not True:
            continue
        effective = str(meta.get("effective_date") or "")
        event = PolicyEvent(
            key=f"article:{version.article_id}:{effective}"[:120], kind=POLICY_ARTICLE,
            detail={"article_id": version.article_id, "title": str(meta.get("title") or version.article_id),
                    "version": version.version, "effective_date": effective, "state": "noticed"})
        if await _insert_once(session, event):
            events.append(event)
    return ArticleCheck(events, versions[-1].id)


async def record_campaigns(session: AsyncSession, event_id: int, *, campaigns: list[int],
                           problems: list[str]) -> None:
    """What the event led to: the draft campaigns prepared, and why a segment prepared none."""
    event = await session.get(PolicyEvent, event_id)
    if event is None:
        return
    event.campaign_id = campaigns[0] if campaigns else None
    event.detail = {**(event.detail or {}), "campaigns": campaigns, "problems": problems,
                    "state": "prepared" if campaigns else "nothing_prepared"}
