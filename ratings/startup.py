"""Ratings in the service: the context, built once at start; each part registers its seams here."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from core.bus import EventBus
from core.clock import SystemClock
from core.services import Services
from core.settings import Settings
from ratings.context import Ratings


async def start(services: Services) -> None:
    ratings = Ratings(settings=services.get(Settings), sessions=services.get(async_sessionmaker),
                      bus=services.get(EventBus), clock=SystemClock())
    services.provide(Ratings, ratings)


async def stop(services: Services) -> None:
    return None
