"""Tables of 好差评: one rating per service event, the requests that ask for them, and the rectification
cases a bad rating opens with every step they take."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class EventKind:
    """What was rated. A service event has one key (`event_key`), so it is rated once."""

    AGENT = "agent"            # a person served a conversation (web, app, WeChat)
    BOT = "bot"                # the assistant alone served it
    CALL_AGENT = "call_agent"  # a phone call with an agent
    CALL_BOT = "call_bot"      # a phone call the voice assistant answered
    OUTBOUND = "outbound"      # an automated outbound call
    COUNTER = "counter"        # a visit to a counter window


class RatingRequest(Base):
    """The service asked for a rating of one event. Asked once (never repeated endlessly) and open until
    `expires_at`; the citizen's answer on the same conversation is matched to the open request."""

    __tablename__ = "rating_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    citizen_id: Mapped[str | None] = mapped_column(String(36))
    agent_id: Mapped[int | None] = mapped_column(Integer)  # None: the bot (or a counter without staff)
    business: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (
        # The analysis groups each period by one of these (see ratings.analysis).
        Index("ix_ratings_at_business", "created_at", "business"),
        Index("ix_ratings_at_channel", "created_at", "channel"),
        Index("ix_ratings_at_department", "created_at", "department"),
        Index("ix_ratings_agent_at", "agent_id", "created_at"),
        # Covers every chart's query (period, level, mark and each dimension): the database counts from the
        # index alone, without reading the rows (ratings.analysis, bench/ratings_analysis.py).
        Index("ix_ratings_analysis", "created_at", "level", "mark", "channel", "business", "department", "agent_id"),
        # The analysis finds the ratings marked since it last counted a month (ratings.analysis._touched).
        Index("ix_ratings_marked_at", "marked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(120), unique=True)  # one rating per service event
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    level: Mapped[int] = mapped_column(Integer)  # ratings.levels.Level, 1..5
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)  # the citizen's words: text everywhere, never markup
    business: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(Integer)  # the person rated; None: the bot
    counter: Mapped[str | None] = mapped_column(String(64))  # the counter window's code, for a visit
    citizen_id: Mapped[str | None] = mapped_column(String(36), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # An upheld appeal marks the rating (it stays, and is left out of scores); nothing deletes one.
    mark: Mapped[str | None] = mapped_column(String(20))
    marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RectificationCase(Base):
    """Opened by every 不满意 or 非常不满意: verification, a call back, rectification and a reply within
    working days, the citizen's follow-up rating, the agent's appeal, escalation when overdue."""

    __tablename__ = "rectification_cases"
    __table_args__ = (
        Index("ix_rectification_cases_status_due", "status", "due_at"),
        # The analysis reads the cases a period's bad ratings opened (ratings.analysis.rectification).
        Index("ix_rectification_cases_opened", "opened_at", "department"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id"), unique=True)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    assignee_id: Mapped[int | None] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    callback_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rectified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalation: Mapped[int] = mapped_column(Integer, default=0)  # 0 none, 1 the supervisor, 2 the centre
    follow_up_level: Mapped[int | None] = mapped_column(Integer)  # the citizen's one follow-up rating
    appeal: Mapped[str | None] = mapped_column(String(20))  # pending | upheld | rejected


class CaseStep(Base):
    """Every step of a case, append-only: who did what, when, and what they wrote."""

    __tablename__ = "rectification_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("rectification_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # None: the system (escalation) or the citizen
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class CounterWindow(Base):
    """A counter window in one of the centre's offices, rated by the QR code printed for it. The code
    carries a signed token of the window, its staff member and `token_version`: changing the staff
    member or reissuing the code moves the version on, so an old printed code stops working."""

    __tablename__ = "counter_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # "<office>-<window>": Rating.counter
    office: Mapped[str] = mapped_column(String(32), index=True)  # an office's code (ratings/departments.yml)
    window: Mapped[str] = mapped_column(String(16))  # the number on the window, as the citizen sees it
    department: Mapped[str] = mapped_column(String(64))  # who puts its bad ratings right
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))  # the staff member serving there
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SuspensionState:
    """A suspension's life: `suspended` (pending a supervisor's review) → `readmitted` (may go on duty
    again) or `upheld` (kept off the line after review; a later re-admission still ends it)."""

    SUSPENDED = "suspended"
    UPHELD = "upheld"
    READMITTED = "readmitted"


class Suspension(Base):
    """An agent's right to go on duty suspended (动态退出): by the standing rules or by a supervisor.
    While it is open (`open_key` = the agent's id) the console's duty gate refuses the agent."""

    __tablename__ = "agent_suspensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    # The agent's id while suspended or upheld: one open suspension per agent, kept by the database.
    open_key: Mapped[int | None] = mapped_column(Integer, unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    rule: Mapped[str] = mapped_column(String(20))  # low_score | verified_bad | manual
    score: Mapped[float | None] = mapped_column(Float)  # the rolling score when suspended
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # the score's parts and counts then
    note: Mapped[str | None] = mapped_column(Text)  # a supervisor's reason for a manual suspension
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer)  # None: the rules
    appeal_note: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(Integer)
    decision_note: Mapped[str | None] = mapped_column(Text)
    readmitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
