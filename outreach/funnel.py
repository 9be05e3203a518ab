"""The outreach funnel: sent → delivered → opened → checklist completed → handed to the form → business
completed, per campaign, segment, channel and business.

Each stage is one row per subject (`r:<recipient id>` for a campaign's recipient, `l:<link id>` for a
link nobody was sent in a campaign), inserted once: a provider's repeated callback, a second open of the
same link or a replayed webhook counts once. The insert says ON CONFLICT DO NOTHING instead of catching
the unique violation, so the caller's transaction stays usable after a repeat.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement, Insert, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.models import FunnelEvent


class Stage(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CHECKLIST = "checklist"
    HANDED_OFF = "handed_off"
    COMPLETED = "completed"


# In the order a person goes through them; ratios are taken against the stage before and against sent.
STAGES: tuple[Stage, ...] = tuple(Stage)


def recipient_subject(recipient_id: int) -> str:
    return f"r:{recipient_id}"


def link_subject(link_id: str, recipient_id: int | None = None) -> str:
    """A link sent to a campaign's recipient counts under the recipient, so one person's path is one row
    per stage whether the event came from the message provider or from the link page."""
    return recipient_subject(recipient_id) if recipient_id is not None else f"l:{link_id}"


def _insert(session: AsyncSession) -> Insert:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(FunnelEvent).on_conflict_do_nothing(index_elements=["subject", "stage"])
    if name == "sqlite":
        return sqlite.insert(FunnelEvent).on_conflict_do_nothing(index_elements=["subject", "stage"])
    raise RuntimeError(f"funnel events need ON CONFLICT DO NOTHING, which {name} lacks here")


async def record(
    session: AsyncSession,
    *,
    subject: str,
    stage: Stage,
    campaign_id: int | None,
    segment: str | None,
    channel: str | None,
    business: str | None,
    at: datetime,
) -> bool:
    """Record that `subject` reached `stage`; False when it had already (not an error). The caller commits."""
    result = await session.execute(
        _insert(session).values(
            subject=subject,
            stage=str(Stage(stage)),
            campaign_id=campaign_id,
            # Empty rather than NULL, so GROUP BY and the filters treat "none" as one plain value.
            segment=segment or "",
            channel=channel or "",
            business=business or "",
            at=at,
        ).returning(FunnelEvent.id)
    )
    # RETURNING gives a row only when it was inserted; rowcount after ON CONFLICT is not reliable on asyncpg.
    return result.first() is not None


# What a funnel can be broken down by, in the order of the group index (ix_outreach_funnel_group).
GROUPS: tuple[str, ...] = ("campaign_id", "segment", "channel", "business")


@dataclass(frozen=True)
class CampaignInfo:
    name: str
    created_by: int


class Campaigns(Protocol):
    """What the funnel needs to know of campaigns (their names, who prepared them), from the campaign
    engine above this package, which provides it on the services container at start."""

    async def __call__(self, session: AsyncSession, ids: Sequence[int]) -> dict[int, CampaignInfo]: ...


class UnknownGroup(ValueError):
    """`group_by` named something other than GROUPS."""


@dataclass
class FunnelRow:
    """One line of the funnel: its group (a key left out of `group_by` is None), how many subjects reached
    each stage, and the conversions: each stage against the one before it (`step`) and against sent
    (`overall`); None where the stage it is taken against has nobody."""

    campaign_id: int | None = None
    segment: str | None = None
    channel: str | None = None
    business: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {stage.value: 0 for stage in STAGES})

    def rates(self) -> dict[str, dict[str, float | None]]:
        sent = self.counts[Stage.SENT]
        step: dict[str, float | None] = {}
        overall: dict[str, float | None] = {}
        for before, stage in zip(STAGES, STAGES[1:], strict=False):
            base = self.counts[before]
            step[stage] = round(self.counts[stage] / base, 4) if base else None
            overall[stage] = round(self.counts[stage] / sent, 4) if sent else None
        return {"step": step, "overall": overall}

    def as_dict(self) -> dict[str, object]:
        return {"campaign_id": self.campaign_id, "segment": self.segment, "channel": self.channel,
                "business": self.business, "counts": dict(self.counts), **self.rates()}


def _filters(*, campaign_id: int | None, segment: str | None, channel: str | None, business: str | None,
             since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if campaign_id is not None:
        where.append(FunnelEvent.campaign_id == campaign_id)
    if segment is not None:
        where.append(FunnelEvent.segment == segment)
    if channel is not None:
        where.append(FunnelEvent.channel == channel)
    if business is not None:
        where.append(FunnelEvent.business == business)
    if since is not None:
        where.append(FunnelEvent.at >= since)
    if until is not None:
        where.append(FunnelEvent.at < until)
    return where


async def funnel(
    session: AsyncSession,
    *,
    campaign_id: int | None = None,
    segment: str | None = None,
    channel: str | None = None,
    business: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: Sequence[str] = GROUPS,
) -> list[FunnelRow]:
    """Counts per stage for each group. `since`/`until` bound when each stage was reached. Rows come
    ordered by their group.

    The database always groups by all four keys and the stage, the order of the group index, so it
    reads that index alone, in order, with a plain count (no sort or hash of its own, no per-stage
    aggregate: each of those costs a third more or twice the time over a million events); the few
    hundred rows that gives are folded here into the groups asked for."""
    keys = [key for key in GROUPS if key in group_by]
    if unknown := set(group_by) - set(GROUPS):
        raise UnknownGroup(", ".join(sorted(unknown)))
    columns = [getattr(FunnelEvent, key) for key in GROUPS]
    query = (
        select(*columns, FunnelEvent.stage, func.count())
        .where(*_filters(campaign_id=campaign_id, segment=segment, channel=channel, business=business,
                         since=since, until=until))
        .group_by(*columns, FunnelEvent.stage)
    )
    rows: dict[tuple[object, ...], FunnelRow] = {}
    for *found, stage, count in (await session.execute(query)).all():
        group = dict(zip(GROUPS, found, strict=True))
        key = tuple(group[name] for name in keys)
        row = rows.get(key)
        if row is None:
            row = rows[key] = FunnelRow(**{name: group[name] for name in keys})
        if stage in row.counts:  # a stage this code does not know (written by a newer version) is left out
            row.counts[stage] += int(count)
    return [rows[key] for key in sorted(rows, key=lambda key: tuple((v is None, v) for v in key))]


def total(rows: Sequence[FunnelRow]) -> FunnelRow:
    """All the rows together (their groups may differ, so the group keys stay None)."""
    summed = FunnelRow()
    for row in rows:
        for stage, count in row.counts.items():
            summed.counts[stage] += count
    return summed
