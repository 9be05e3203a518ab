"""Database engine, session factory and the declarative base shared by every package.

The same code runs on SQLite (embedded default, via aiosqlite) and PostgreSQL (psycopg 3).
The schema is owned by Alembic (`migrations/`); `migrate()` brings a database up to date.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

from sqlalchemy import DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import CursorResult, Dialect, Engine, Result
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from core.settings import ROOT, normalise_db_url

MIGRATION_LOCK = 0x48504601  # arbitrary, fixed: the advisory lock that serialises migrations
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored in UTC; SQLite forgets the zone, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: use core.db.utcnow()")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: object) -> None:
    # WAL lets readers run beside the writer; busy_timeout makes concurrent writers wait, not fail.
    if type(dbapi_conn).__module__.startswith(("sqlite3", "aiosqlite")) or "sqlite" in type(dbapi_conn).__module__:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE changed. SQLAlchemy types `execute`'s result as a plain Result,
    though for such a statement it is a CursorResult, which counts them."""
    return cast("CursorResult[Any]", result).rowcount


def make_engine(url: str) -> AsyncEngine:
    url = normalise_db_url(url)
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        return create_async_engine(url)
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def migrate(url: str) -> None:
    """Run Alembic to head (synchronously; call before serving)."""
    from alembic import command
    from alembic.config import Config

    sync_url = normalise_db_url(url, sync=True)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if sync_url.startswith("sqlite"):
        Path(sync_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sync_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # Several instances start at once: one migrates, the others wait and find nothing to do.
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
            connection.commit()
    finally:
        engine.dispose()

