"""Tables of outreach: personal links, cards, the funnel's events, the business system's webhook
nonces, detected policy events, and which citizen a depositor of the centre is.

What is kept of a depositor is as little as the features need: a keyed hash of the centre's account
number (`depositor_ref`, never the number), the citizen it links to, and on a link the few facts its
page shows (a masked name and the figures the message promised).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class DepositorLink(Base):
    """A depositor of the centre is this citizen (linked through their verified mobile, openid or app id)."""

    __tablename__ = "outreach_depositors"

    depositor_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutreachLink(Base):
    """A personal 一点就能办 link: one business, one person, until it expires or is revoked. The URL
    carries only `<id>.<signature>`; everything else stays here."""

    __tablename__ = "outreach_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, opaque
    business: Mapped[str] = mapped_column(String(64))  # a key of policy/params/business.yml
    checklist: Mapped[str | None] = mapped_column(String(64))  # a policy/checklists/<name>.yml, if any
    citizen_id: Mapped[str | None] = mapped_column(ForeignKey("citizens.id"), index=True)
    depositor_ref: Mapped[str | None] = mapped_column(String(64))
    facts: Mapped[dict] = mapped_column(JSON, default=dict)  # what the page shows: masked name, figures
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # checklist answers the data already gives
    # Where it came from, for the funnel: a campaign's recipient, an agent, or the bot.
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    recipient_id: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opens: Mapped[int] = mapped_column(Integer, default=0)
    checklist_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Card(Base):
    """A personal card (您可以办理：…) on the citizen's own web and app pages and the WeChat landing page."""

    __tablename__ = "outreach_cards"
    __table_args__ = (Index("ix_outreach_cards_citizen", "citizen_id", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"))
    business: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    link_id: Mapped[str | None] = mapped_column(ForeignKey("outreach_links.id"))
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    recipient_id: Mapped[int | None] = mapped_column(Integer, unique=True)  # one card per recipient
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FunnelEvent(Base):
    """One stage reached by one subject (a campaign's recipient `r:<id>` or a link `l:<id>`), once: the
    unique pair makes a repeated callback, a second open or a replayed webhook count once."""

    __tablename__ = "outreach_funnel"
    __table_args__ = (
        UniqueConstraint("subject", "stage"),
        # The funnel's GROUP BY reads this index alone (stage and the time filter's `at` included).
        Index("ix_outreach_funnel_group", "campaign_id", "segment", "channel", "business", "stage", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(48))
    # sent → delivered → opened → checklist → handed_off → completed
    stage: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(20), default="")
    business: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WebhookNonce(Base):
    """A completion webhook's nonce, kept past its signature's validity: a replayed call is refused."""

    __tablename__ = "outreach_webhook_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PolicyEvent(Base):
    """A change that concerns people (a rate cut, an article marked as a policy change), noticed once
    (`key` is unique) and answered with a draft campaign for a person to approve."""

    __tablename__ = "outreach_policy_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # rate_change | policy_article
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
