"""Test databases: a named PostgreSQL database per suite on the test server, emptied on demand.

A suite that starts its own service processes on PostgreSQL names a database of its own, so resetting
one suite's schema never pulls the floor from under another's long-lived fixture."""
from __future__ import annotations

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.settings import normalise_db_url


def postgres_database(server_url: str, suite: str) -> str:
    """The URL of the suite's own database beside the one `server_url` names (hpf_test → hpf_test_console),
    created on first use: two test runs that name different main databases never share a suite's."""
    url = make_url(normalise_db_url(server_url, sync=True))
    name = f"{url.database}_{suite}"
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def reset_postgres(url: str) -> None:
    """Drop every table, type and sequence: the next migration starts from empty."""
    engine = create_engine(normalise_db_url(url, sync=True))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
