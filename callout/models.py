"""Tables of outbound campaigns: the campaign, its recipients, every attempt to reach one, the provider's
callbacks for each attempt, and the suppression list (不再来电) that every campaign respects."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class CampaignStatus(StrEnum):
    DRAFT = "draft"          # prepared, waiting for a second person's approval
    APPROVED = "approved"    # approved, not started
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"  # every recipient reached a final state
    CANCELLED = "cancelled"


class RecipientState(StrEnum):
    PENDING = "pending"  # not tried yet
    CALLING = "calling"  # an attempt is claimed or in progress: nobody else may start one
    RETRY = "retry"      # waiting for its next attempt (next_attempt_at)
    DONE = "done"        # final: `outcome` says how it ended


class Outcome(StrEnum):
    """How an attempt ended; a recipient's final outcome is its last attempt's, or why none was made."""

    ANSWERED = "answered"
    MACHINE = "machine"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    CANCELLED = "cancelled"
    OPTED_OUT = "opted_out"
    TRANSFERRED = "transferred"
    SUPPRESSED = "suppressed"  # on the suppression list: never called
    EXPIRED = "expired"        # the campaign's last day passed before an attempt could be made
    SENT = "sent"              # a message channel's message was accepted (sms, wechat, push, card)
    UNREACHABLE = "unreachable"  # no way to the person on the campaign's channel (no follower, app user, citizen)
    CAPPED = "capped"          # the weekly cap held them back until the campaign ended


class CampaignChannel(StrEnum):
    VOICE = "voice"    # outbound calls
    SMS = "sms"
    WECHAT = "wechat"  # the campaign's template message to the follower the citizen or number is linked to
    PUSH = "push"      # app push to the citizen's app user
    CARD = "card"      # a personal card on the citizen's own pages


MESSAGE_CHANNELS = frozenset({CampaignChannel.SMS, CampaignChannel.WECHAT, CampaignChannel.PUSH, CampaignChannel.CARD})


class Fallback(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"
    WECHAT_THEN_SMS = "wechat_then_sms"


class MachineAction(StrEnum):
    VOICEMAIL = "voicemail"  # speak the voicemail text after the beep
    HANGUP = "hangup"


class Campaign(Base):
    __tablename__ = "callout_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # voice: calls; sms | wechat | push | card: a message on that channel instead (服务找人)
    channel: Mapped[str] = mapped_column(String(20), default="voice")
    segment: Mapped[str | None] = mapped_column(String(64))  # the policy/segments rule it was prepared from
    business: Mapped[str | None] = mapped_column(String(64))  # the online business its links open
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.DRAFT, index=True)
    message: Mapped[str] = mapped_column(Text)
    voicemail_message: Mapped[str | None] = mapped_column(Text)
    sms_message: Mapped[str | None] = mapped_column(Text)  # sent after the last unanswered attempt; NULL: none
    machine_action: Mapped[str] = mapped_column(String(20), default=MachineAction.VOICEMAIL)
    # After the last unanswered attempt: an SMS, a WeChat template message (to a citizen whose number is
    # linked to an openid that follows the account), or WeChat first and the SMS where that fails.
    fallback: Mapped[str] = mapped_column(String(20), default="sms")
    wechat_template_id: Mapped[str | None] = mapped_column(String(64))
    wechat_data: Mapped[dict] = mapped_column(JSON, default=dict)  # template field -> text with variables
    variables: Mapped[list] = mapped_column(JSON, default=list)  # the columns every recipient must fill
    windows: Mapped[list] = mapped_column(JSON, default=list)  # [["09:00", "12:00"], …] in Asia/Shanghai
    days: Mapped[list] = mapped_column(JSON, default=list)  # ISO weekdays, 1 = Monday
    call_on_holidays: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    retry_minutes: Mapped[int] = mapped_column(Integer, default=60)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=5)
    calls_per_second: Mapped[float] = mapped_column(Float, default=1.0)
    # The dialer's pacing slot: a call may be placed once this has passed (one conditional UPDATE per
    # call, which also serialises the claims of one campaign across processes).
    next_dial_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One dispatcher at a time per campaign; a dead one's lease runs out.
    dispatcher_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its people's numbers, names and call records were anonymised (CALLOUT_RETENTION_DAYS after
    # it finished); outcomes, durations and counts stay.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Recipient(Base):
    __tablename__ = "callout_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone"),
        Index("ix_callout_recipients_due", "campaign_id", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("callout_campaigns.id"))
    row: Mapped[int] = mapped_column(Integer)  # its row in the upload, for the report and the drill-down
    phone: Mapped[str] = mapped_column(String(20))  # E.164, mainland China
    name: Mapped[str] = mapped_column(String(100), default="")
    variables: Mapped[dict] = mapped_column(JSON, default=dict)
    citizen_id: Mapped[str | None] = mapped_column(String(32))  # the citizen the number is (app push, cards)
    link_id: Mapped[str | None] = mapped_column(String(32))  # their personal 一点就能办 link, if any
    state: Mapped[str] = mapped_column(String(20), default=RecipientState.PENDING)
    outcome: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # calls that count against max_attempts
    tries: Mapped[int] = mapped_column(Integer, default=0)  # every claim, also those the provider refused
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # sms_sent | sms_failed | sms_skipped | wechat_sent | wechat_failed (WeChat only, nothing else sent)
    fallback: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Attempt(Base):
    """One try at reaching a recipient. (recipient, seq) is unique: the database, not a process, decides
    that a try happens once."""

    __tablename__ = "callout_attempts"
    __table_args__ = (UniqueConstraint("recipient_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("callout_campaigns.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("callout_recipients.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10), default="voice")  # voice | sms | wechat | push | card
    counted: Mapped[bool] = mapped_column(Boolean, default=True)  # False: the provider refused before dialling
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="claimed")  # claimed, then the provider's status
    answered_by: Mapped[str | None] = mapped_column(String(30))  # answering-machine detection's verdict
    marked: Mapped[str | None] = mapped_column(String(20))  # opted_out | transferred: said during the call
    outcome: Mapped[str | None] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    step: Mapped[int] = mapped_column(Integer, default=0)  # in-call webhooks: a replayed request acts never
    last_twiml: Mapped[str | None] = mapped_column(Text)
    heard: Mapped[int] = mapped_column(Integer, default=0)  # times the message was played
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[int | None] = mapped_column(Integer)


class CallEvent(Base):
    """A provider callback as it came (status or machine detection), once per kind and status: kept as
    the call record."""

    __tablename__ = "callout_call_events"
    __table_args__ = (UniqueConstraint("attempt_id", "kind", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("callout_attempts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # status | amd
    status: Mapped[str] = mapped_column(String(30))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Suppression(Base):
    """A number that no campaign calls or messages again, on any channel, with the evidence of why."""

    __tablename__ = "callout_suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[str] = mapped_column(String(20))  # staff | import | call | sms | wechat | provider
    reason: Mapped[str | None] = mapped_column(String(200))
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)  # the call, the words, who added it
    added_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Contact(Base):
    """A message or call that reached out to a number, from any campaign: the weekly cap per citizen
    (OUTREACH_CAP_PER_WEEK) counts these."""

    __tablename__ = "callout_contacts"
    __table_args__ = (Index("ix_callout_contacts_phone_at", "phone", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("callout_campaigns.id"))
    recipient_id: Mapped[int] = mapped_column(Integer)
    # The attempt that made it: a call the provider refused, or a message not sent, takes it back.
    attempt_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
