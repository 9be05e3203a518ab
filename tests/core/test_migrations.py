"""Alembic owns the schema: migrations run from empty, back down, and concurrently on PostgreSQL."""
from concurrent.futures import ThreadPoolExecutor

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect

from core.db import migrate
from core.settings import normalise_db_url
from tests.conftest import ROOT
from tests.databases import reset_postgres

TABLES = {"citizens", "identities", "conversations", "messages"}


def tables(url: str) -> set[str]:
    engine = create_engine(normalise_db_url(url, sync=True))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url, monkeypatch):
    assert TABLES <= tables(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        cfg = Config(str(ROOT / "alembic.ini"))
        cfg.set_main_option("script_location", str(ROOT / "migrations"))
        command.downgrade(cfg, "base")
        assert not TABLES & tables(database_url)
    finally:
        get_settings.cache_clear()
    migrate(database_url)
    assert TABLES <= tables(database_url)


def test_instances_starting_together_migrate_once(postgres_url):
    reset_postgres(postgres_url)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: migrate(postgres_url), range(4)))
    assert TABLES <= tables(postgres_url)
