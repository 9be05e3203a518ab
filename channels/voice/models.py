"""Phone calls: one row per Twilio call, linked to its conversation, and the status callbacks Twilio sent."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class CallStage(StrEnum):
    BOT = "bot"                          # talking with the assistant
    MENU = "menu"                        # the key menu, after silence or unclear speech
    QUEUED = "queued"                    # on hold for an agent (Twilio <Enqueue>)
    AGENT = "agent"                      # connected to (or being connected to) an agent
    MESSAGE = "message"                  # leaving a message for a callback
    CALLBACK_NUMBER = "callback_number"  # keying in the number to call back
    RATING = "rating"                    # asked for one key, 1-5, at the end (好差评)
    ENDED = "ended"


class VoiceCall(Base):
    """A call's state between webhooks. `step` is the step the next action URL must carry: a webhook
    acts only if it wins the conditional UPDATE that advances it, so a replayed request acts never."""

    __tablename__ = "voice_calls"

    call_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    caller: Mapped[str] = mapped_column(String(32))
    called: Mapped[str] = mapped_column(String(32), default="")
    stage: Mapped[str] = mapped_column(String(20), default=CallStage.BOT)
    step: Mapped[int] = mapped_column(Integer, default=0)
    last_twiml: Mapped[str | None] = mapped_column(Text)
    silences: Mapped[int] = mapped_column(Integer, default=0)
    unclear: Mapped[int] = mapped_column(Integer, default=0)
    sms_links: Mapped[list] = mapped_column(JSON, default=list)  # links offered by SMS after the last answer
    queue_position: Mapped[int | None] = mapped_column(Integer)
    estimated_wait_s: Mapped[int | None] = mapped_column(Integer)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    agent_name: Mapped[str | None] = mapped_column(String(100))
    agent_phone: Mapped[str | None] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    recording_url: Mapped[str | None] = mapped_column(String(500))
    callback_number: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="in-progress")  # Twilio's CallStatus
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VoiceCallEvent(Base):
    """One status callback as Twilio sent it; a status is stored once per call (retries are no-ops)."""

    __tablename__ = "voice_call_events"
    __table_args__ = (UniqueConstraint("call_sid", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(ForeignKey("voice_calls.call_sid"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
