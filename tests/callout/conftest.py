"""Fixtures for the campaign tests: the engine's context on a migrated database (SQLite and a real
PostgreSQL of its own), a frozen clock, and the campaign routes on a small app."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from callout.context import Callout
from callout.provider import TwilioProvider
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from fakes.rasa import FakeRasa
from fakes.twilio import FakeTwilio
from staff import passwords
from tests.agent_console.helpers import CHEAP_HASHER
from tests.callout.helpers import FrozenClock, Line, RecordingQueue, campaign_app, client, local, phone_settings
from tests.databases import postgres_database


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture(scope="session")
def suite_postgres_url(postgres_url: str) -> str:
    """A PostgreSQL database for these tests alone (their worker processes hold it)."""
    return postgres_database(postgres_url, "callout")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(local(2026, 12, 7, 10, 0))  # a Monday morning, inside the default windows


@pytest.fixture
async def callout(database_url, tmp_path, clock):
    engine = make_engine(database_url)
    settings = Settings(data_dir=tmp_path, database_url=database_url, console_holidays="2026-12-25")
    yield Callout(settings=settings, sessions=make_sessionmaker(engine), clock=clock)
    await engine.dispose()


@pytest.fixture
async def api(callout):
    async with client(campaign_app(callout)) as http:
        yield http


@pytest.fixture(scope="module")
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
async def line(database_url, tmp_path, clock, fake_twilio):
    """The engine with a phone line: Twilio's API is the local fake, the queue records what it is asked."""
    fake_twilio.behaviours.clear()
    fake_twilio.calls.clear()
    fake_twilio.messages.clear()
    engine = make_engine(database_url)
    settings = Settings(data_dir=tmp_path, database_url=database_url, console_holidays="2026-12-25",
                        **phone_settings(fake_twilio))
    callout = Callout(settings=settings, sessions=make_sessionmaker(engine), clock=clock, queue=RecordingQueue(),
                      provider=TwilioProvider(settings))
    async with client(campaign_app(callout)) as http:
        yield Line(callout=callout, api=http, twilio=fake_twilio, clock=clock)
    await engine.dispose()


@pytest.fixture(scope="module")
def rasa() -> Iterator[FakeRasa]:
    with FakeRasa() as fake:
        yield fake
