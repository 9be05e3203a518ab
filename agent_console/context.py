"""What the console's services need from the running service, gathered once at start."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.bus import EventBus
from core.settings import Settings

if TYPE_CHECKING:
    from conversations.bot_client import RasaClient
    from conversations.hub import Hub
    from knowledge.search import KnowledgeBase


@dataclass
class Console:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    hub: Hub
    bot: RasaClient
    knowledge: KnowledgeBase | None


def console_of(app_state: object) -> Console:
    """The console of a running service (made on first use, so channels may call in at any time)."""
    console = getattr(app_state, "console", None)
    if console is None:
        console = Console(
            settings=app_state.settings,
            sessions=app_state.sessionmaker,
            bus=app_state.bus,
            hub=app_state.hub,
            bot=app_state.bot,
            knowledge=getattr(app_state, "knowledge", None),
        )
        app_state.console = console
    return console


def get_console(request: Request) -> Console:
    return console_of(request.app.state)


ConsoleDep = Annotated[Console, Depends(get_console)]
