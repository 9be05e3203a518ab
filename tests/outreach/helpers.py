"""Factories for the outreach tests: the outreach (or campaign engine) context on the test's database,
and outreach routes on a small app. Staff logins, the frozen clock and the HTTP client come from
tests/callout/helpers.py, as the campaign tests have them."""
from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI

from callout.context import Callout
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from outreach.context import Outreach
from tests.callout.helpers import FrozenClock, service_app

PUBLIC = "https://hpf.example.cn"
Context = TypeVar("Context", Outreach, Callout)


@asynccontextmanager
async def on_database(kind: type[Context], database_url: str, tmp_path: Path, clock: FrozenClock,
                      **settings: Any) -> AsyncIterator[Context]:
    """An `Outreach` or `Callout` on the test's database, its links on PUBLIC unless `settings` say
    otherwise; the engine is closed after the test."""
    engine = make_engine(database_url)
    made = Settings(**{"data_dir": tmp_path, "database_url": database_url, "public_base_url": PUBLIC, **settings})
    try:
        yield kind(settings=made, sessions=make_sessionmaker(engine), clock=clock)
    finally:
        await engine.dispose()


def outreach_app(outreach: Outreach, *parts: tuple[type, object], routers: Iterable[APIRouter]) -> FastAPI:
    """`routers` on a small app with the outreach context (and any other `parts`) on its services."""
    return service_app(outreach.settings, outreach.sessions, (Outreach, outreach), *parts, routers=routers)
