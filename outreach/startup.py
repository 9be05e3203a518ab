"""Outreach in the service: its context, built once at start."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from conversations.hub import Hub
from core.clock import SystemClock
from core.services import Services
from core.settings import Settings
from outreach.context import Outreach
from outreach.personalise import LinkPersonaliser


async def start(services: Services) -> None:
    outreach = Outreach(settings=services.get(Settings), sessions=services.get(async_sessionmaker), clock=SystemClock())
    services.provide(Outreach, outreach)
    hub = services.find(Hub)
    if hub is not None:  # the bot's answers give known citizens their own 一点就能办 links
        hub.register_link_personaliser(LinkPersonaliser(outreach))


async def stop(services: Services) -> None:
    return None
