"""Tables of staff identity: accounts with their roles, console logins, the audit log."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    AGENT = "agent"
    CAMPAIGNER = "campaigner"  # prepares outbound campaigns (外呼专员); approving one takes a supervisor
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# Each role may do what the roles below it may: an admin can supervise, a supervisor can serve. A
# campaigner ranks with the agents, so it never reaches a supervisor's rights (approving a campaign
# among them); preparing campaigns is granted by name (`callout.deps.CampaignPreparer`), not by rank.
ROLE_RANK = {Role.AGENT: 1, Role.CAMPAIGNER: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.AGENT)
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    skills: Mapped[list] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(32))  # for phone-channel claims
    # The department a bad rating of this agent's service is routed to (ratings.departments).
    department: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Any request or open console socket: duty ends after a stretch without either.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written by every assignment to this agent: the write locks the row, which serialises the
    # capacity check of concurrent assignments to the same agent.
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def public(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "capacity": self.capacity,
            "skills": list(self.skills or []),
            "active": self.active,
        }


class ConsoleSession(Base):
    """A login. Only the SHA-256 of its token is stored: a leaked table opens no console."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """Append-only: the code has no path that changes or deletes a row, and the database refuses to
    (triggers in the migration)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)  # NULL: the system
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str | None] = mapped_column(String(80), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
