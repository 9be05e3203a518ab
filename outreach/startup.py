"""Outreach in the service: its context, built once at start."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from core.clock import SystemClock
from core.services import Services
from core.settings import Settings
from outreach.context import Outreach


async def start(services: Services) -> None:
    services.provide(Outreach, Outreach(settings=services.get(Settings), sessions=services.get(async_sessionmaker),
                                        clock=SystemClock()))


async def stop(services: Services) -> None:
    return None
