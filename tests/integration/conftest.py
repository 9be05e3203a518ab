"""Databases for the integration tests: every test that takes `database_url` runs on SQLite and on
a real PostgreSQL server, each migrated from empty by Alembic."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from core.db import migrate
from core.settings import normalise_db_url


def reset_postgres(url: str) -> None:
    engine = create_engine(normalise_db_url(url, sync=True))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        reset_postgres(url)
    migrate(url)
    return url
