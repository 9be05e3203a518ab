"""Tables of knowledge operations: every version of every article (the source of truth for the
index), the lease that lets one process at a time build the index, and the questions the bot could
not answer well (for the report of articles to write next).

The version history is append-only: the code only adds rows, and the database refuses to change or
delete them (triggers in the migration).
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Float, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

INDEX_LEASE = "index"


class Action(StrEnum):
    SEED = "seed"          # imported from knowledge/articles/ in the repository
    CREATE = "create"
    EDIT = "edit"
    RETIRE = "retire"
    ROLLBACK = "rollback"  # a new version equal to an older one


class ArticleVersion(Base):
    __tablename__ = "knowledge_article_versions"
    # Two writers that both saw version n cannot both write n+1: the loser gets a conflict.
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    content: Mapped[str] = mapped_column(Text)  # the whole Markdown file, front matter included
    content_hash: Mapped[str] = mapped_column(String(64))
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    diff: Mapped[str] = mapped_column(Text, default="")  # unified diff against the previous version
    note: Mapped[str | None] = mapped_column(Text)
    restored_from: Mapped[int | None] = mapped_column(Integer)  # for a rollback: the version copied


class BuildLease(Base):
    """One row per lease; a process builds only while `owner` is it and `until` is ahead."""

    __tablename__ = "knowledge_build_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MissKind(StrEnum):
    NONE = "none"                      # ours, but nothing reliable in the knowledge base
    CLARIFY = "clarify"                # two articles too close to choose
    DECLINE = "decline"                # judged out of scope
    LOW_CONFIDENCE = "low_confidence"  # answered, but the rankers were unsure


class UnansweredQuestion(Base):
    __tablename__ = "knowledge_unanswered"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    question: Mapped[str] = mapped_column(Text)  # personal numbers masked before storing
    normalised: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    nearest_article_id: Mapped[str | None] = mapped_column(String(64))
    nearest_title: Mapped[str | None] = mapped_column(String(200))
    intent: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(32))  # what decided it (knowledge.answer.Rule)


class Media(Base):
    """A picture, short video or diagram shown with an article's answers (全媒体智库).

    The bytes live in the database, not on one instance's disk, so every service instance serves the
    same file; each instance keeps a copy on disk by content hash after the first read (knowledge.media).
    """

    __tablename__ = "knowledge_media"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random: not a guessable sequence
    article_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # image | video | diagram
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # The words for it: the alt text on the page, the card's description on WeChat, what the phone
    # line says instead of showing it. Required: a picture nobody can describe cannot be heard.
    caption: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
