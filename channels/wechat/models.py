"""What the WeChat channel keeps beyond the shared conversation model: the account's access token
(shared by every service process), which turns were answered by push, and what was sent through
WeChat's API with the outcome."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow


class WeChatToken(Base):
    """One row per account. The lease is the refresh lock: a process refreshes only after taking it
    with a conditional UPDATE that exactly one process wins; a holder that dies frees it at `lease_until`."""

    __tablename__ = "wechat_tokens"

    appid: Mapped[str] = mapped_column(String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(String(512))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PushedTurn(Base):
    """A citizen message whose answer goes out through the customer-service API instead of the
    passive reply. Written before the empty reply is returned, so a retry of the same message, in
    any process, knows it must not answer passively."""

    __tablename__ = "wechat_pushed_turns"

    client_msg_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryKind:
    CUSTOM = "custom"      # customer-service message (agent replies, late answers, queue updates)
    TEMPLATE = "template"  # template notice (reminders)


class DeliveryStatus:
    SENT = "sent"            # WeChat accepted it
    FAILED = "failed"        # WeChat refused it: see errcode
    DELIVERED = "delivered"  # template only: WeChat's job-finished event said success


class WeChatDelivery(Base):
    """Everything sent through WeChat's API, with WeChat's verdict (errcode 0 or the error)."""

    __tablename__ = "wechat_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    openid: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    template_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10))
    errcode: Mapped[int | None] = mapped_column(Integer)
    errmsg: Mapped[str | None] = mapped_column(String(200))
    wechat_msgid: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
