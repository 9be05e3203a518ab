"""The audit trail: who did what, when, to which conversation or account. Append-only: this module
adds and reads rows, nothing changes or deletes them (and the database refuses to)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from staff.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str
    role: str
    ip: str | None = None


SYSTEM = Actor(id=None, name="system", role="system")


def record(session: AsyncSession, actor: Actor, action: str, target: str | None = None, **detail: object) -> None:
    """Add an entry to the caller's transaction: the entry and the action commit together."""
    session.add(
        AuditEntry(
            at=utcnow(), actor_id=actor.id, actor=actor.name, role=actor.role, action=action, target=target,
            detail=detail, ip=actor.ip,
        )
    )


async def search(
    session: AsyncSession,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; `before_id` pages further back."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list((await session.scalars(query)).all())


def to_dict(entry: AuditEntry) -> dict:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail or {},
        "ip": entry.ip,
    }
