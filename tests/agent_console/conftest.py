"""Fixtures for the console tests: a database (SQLite and a real PostgreSQL of its own, so these tests
never reset a database another suite is using), the console's parts on it, and the whole app."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent_console.citizen_replies import CitizenReplies
from agent_console.context import Console
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from fakes.rasa import FakeRasa
from server.app import create_app
from staff import passwords
from tests.agent_console.helpers import CHEAP_HASHER, World
from tests.credentials import APP_API_KEY, APP_HEADERS
from tests.databases import postgres_database

# Timers short enough for tests, long enough that nothing fires before a test looks.
FAST = {"console_tick_s": 0.1, "console_escalate_after_s": 30.0}


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture(scope="session")
def suite_postgres_url(postgres_url: str) -> str:
    """A PostgreSQL database for these tests alone: they start service processes that hold it."""
    return postgres_database(postgres_url, "console")


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    with FakeRasa() as fake:
        yield fake


@pytest.fixture
async def world(database_url, rasa, tmp_path) -> World:
    """The console's parts on a migrated database, with the hub's interceptor, as the service wires them."""
    rasa.received.clear()
    rasa.events.clear()
    engine = make_engine(database_url)
    bus = LocalBus()
    bot = RasaClient(rasa.url, timeout_s=1.0)
    sessions = make_sessionmaker(engine)
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=1.0)
    settings = Settings(data_dir=tmp_path, database_url=database_url, rasa_url=rasa.url, **FAST)
    console = Console(settings=settings, sessions=sessions, bus=bus, hub=hub, bot=bot, knowledge=None)
    hub.register_interceptor(CitizenReplies(console))
    yield World(console=console, hub=hub, bus=bus, rasa=rasa)
    await bot.close()
    await engine.dispose()


@pytest.fixture(scope="session")
def console_index_dir(tmp_path_factory) -> Path:
    """The run's shared knowledge index (tests/conftest.py), for the service processes these tests start."""
    return Settings(data_dir=tmp_path_factory.mktemp("console-kb")).index_dir


def app_settings(data_dir: Path, index_dir: Path, rasa_url: str, **extra) -> Settings:
    return Settings(data_dir=data_dir, index_dir=index_dir, rasa_url=rasa_url, bot_timeout_s=1.5,
                    console_bootstrap_admin="admin:admin-pass-1", app_api_key=APP_API_KEY, **{**FAST, **extra})


@pytest.fixture(scope="module")
def app_client(rasa, tmp_path_factory, console_index_dir) -> Iterator[TestClient]:
    """The whole service (SQLite) with the console; Rasa is the local fake."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", CHEAP_HASHER)
        settings = app_settings(tmp_path_factory.mktemp("console-app"), console_index_dir, rasa.url)
        with TestClient(create_app(settings), headers=APP_HEADERS) as client:
            yield client
