"""The outreach funnel: sent → delivered → opened → checklist completed → handed to the form → business
completed, per campaign, segment, channel and business.

Each stage is one row per subject (`r:<recipient id>` for a campaign's recipient, `l:<link id>` for a
link nobody was sent in a campaign), inserted once: a provider's repeated callback, a second open of the
same link or a replayed webhook counts once. The insert says ON CONFLICT DO NOTHING instead of catching
the unique violation, so the caller's transaction stays usable after a repeat.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Insert
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
