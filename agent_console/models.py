"""Tables of the agent side: duty shifts, the pool's handoffs and who held them, callback tickets and
the console's policy switches (accounts, logins and the audit log are staff's: `staff/models.py`).

Every state that more than one process may change at once is a string column moved by a conditional
UPDATE, and every "at most one open X per Y" is a unique `open_key` that is NULL once X is over.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class ShiftState(StrEnum):
    PENDING = "pending"    # applied for, waiting for a supervisor
    ON_DUTY = "on_duty"    # receives work
    ON_BREAK = "on_break"  # on duty but receives nothing
    ENDED = "ended"
    REJECTED = "rejected"


OPEN_SHIFT_STATES = (ShiftState.PENDING, ShiftState.ON_DUTY, ShiftState.ON_BREAK)


class HandoffState(StrEnum):
    WAITING = "waiting"      # in the pool
    ASSIGNED = "assigned"    # an agent holds it
    FINISHED = "finished"    # the agent handed it back to the bot
    CANCELLED = "cancelled"  # the citizen left the queue, left a message, or the conversation closed


class Reason(StrEnum):
    CITIZEN_REQUEST = "citizen_request"
    FAILED_UNDERSTANDING = "failed_understanding"
    COMPLAINT = "complaint"
    ACCOUNT_SPECIFIC = "account_specific"


class TicketState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"


class Shift(Base):
    __tablename__ = "duty_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    # The agent's id while the shift is open: one open shift per agent, kept by the database.
    open_key: Mapped[int | None] = mapped_column(Integer, unique=True)
    minutes: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))


class Handoff(Base):
    """One stay of a conversation with the humans: from the request to the return to the bot."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_state_priority_queued", "state", "priority", "queued_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    citizen_id: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(16), default=HandoffState.WAITING)
    # The conversation id while waiting or assigned: one open handoff per conversation.
    open_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    reason: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    intent: Mapped[str | None] = mapped_column(String(64))
    slots: Mapped[dict] = mapped_column(JSON, default=dict)
    contact: Mapped[str | None] = mapped_column(String(64))
    skill: Mapped[str | None] = mapped_column(String(32))  # set by a transfer to a skill group
    note: Mapped[str | None] = mapped_column(Text)         # the last transfer's note
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # pool order; kept on return
    waiting_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # this stay in the pool
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)          # first taken from the pool
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)        # supervisors alerted
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    notified_position: Mapped[int | None] = mapped_column(Integer)            # last position told
    resume_pending: Mapped[bool] = mapped_column(Boolean, default=False)      # Rasa not resumed yet
    rating_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Assignment(Base):
    """One agent holding one handoff; an agent's load is the number of their open assignments."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_agent_open", "agent_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(32), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    how: Mapped[str] = mapped_column(String(16))  # grab | push | transfer
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end: Mapped[str | None] = mapped_column(String(16))  # finished | transferred | returned | closed


class CallbackTicket(Base):
    __tablename__ = "callback_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    citizen_id: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    # The conversation id while the ticket is open or claimed: one per conversation.
    open_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=TicketState.OPEN, index=True)
    reason: Mapped[str] = mapped_column(String(32))
    # "no_agents": the request for a person itself; "left_queue": a waiting citizen chose to leave a message.
    origin: Mapped[str] = mapped_column(String(16), default="no_agents")
    question: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str | None] = mapped_column(String(64))
    promised_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsolePolicy(Base):
    """Switches supervisors change at run time (auto-approval of duty), shared by every instance."""

    __tablename__ = "console_policy"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConversationNote(Base):
    """A private note between agents on a conversation (a colleague taking over reads it). Kept apart from
    the messages on purpose: nothing that delivers messages to a citizen ever reads this table."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
