"""The one conversation model every channel converts to and from."""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    WECHAT = "wechat"
    PHONE = "phone"
    WEBRTC = "webrtc"


class Author(StrEnum):
    CITIZEN = "citizen"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class ConversationStatus(StrEnum):
    BOT = "bot"          # the assistant answers
    WAITING = "waiting"  # in the agents' pool; the bot is paused
    HUMAN = "human"      # an agent owns it; the bot is paused
    CLOSED = "closed"


def new_id() -> str:
    return uuid.uuid4().hex


class Citizen(Base):
    __tablename__ = "citizens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    display_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    identities: Mapped[list[Identity]] = relationship(back_populates="citizen")


class Identity(Base):
    """A way to reach one citizen: web visitor id, app user id, WeChat openid, phone number."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    citizen: Mapped[Citizen] = relationship(back_populates="identities")


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_citizen_channel", "citizen_id", "channel", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    citizen_id: Mapped[str] = mapped_column(ForeignKey("citizens.id"))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ConversationStatus.BOT, index=True)
    # "<citizen>:<channel>" while open, NULL once closed: the unique constraint lets the
    # database, not process memory, guarantee one open conversation per citizen and channel.
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When its messages were emptied at the end of the retention period (conversations.retention).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    citizen: Mapped[Citizen] = relationship()


class ServiceInstance(Base):
    """A running service process and when it last said it was alive: a retry need not wait out the answer
    lease of an instance known to be dead (conversations.hub)."""

    __tablename__ = "service_instances"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_msg_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(4))
    author: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by clients that retry (web page reconnects, WeChat MsgId): the same id is stored once.
    client_msg_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A citizen message: until when the instance that stored it is answering it. A retry finding no
    # reply after that takes the answering over (conversations.hub: the instance may have died).
    answer_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answering_instance: Mapped[str | None] = mapped_column(String(32))  # the lease holder (ServiceInstance)

    @property
    def in_reply_to(self) -> int | None:
        """The citizen message a reply answers (replies of one turn share it)."""
        return (self.payload or {}).get("in_reply_to")

    def to_citizen_dict(self) -> dict[str, Any]:
        """The message as a citizen's page or app may see it: without what is for staff only."""
        return for_citizen(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "direction": self.direction,
            "author": self.author,
            "text": self.text,
            "payload": self.payload or {},
            "created_at": self.created_at.isoformat(),
        }


# Payload keys for staff only: the bot's explanation of its decision (scores, rules, and the article's
# source with its editorial marks such as 待中心确认) is shown on the console, never to citizens.
STAFF_ONLY_PAYLOAD = frozenset({"explain"})


def for_citizen(message: dict[str, Any]) -> dict[str, Any]:
    payload = message.get("payload") or {}
    if not STAFF_ONLY_PAYLOAD & payload.keys():
        return message
    return {**message, "payload": {k: v for k, v in payload.items() if k not in STAFF_ONLY_PAYLOAD}}
