"""What the console's services need from the running service, gathered once at start."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import EventBus
from core.deps import ServicesDep
from core.services import Services
from core.settings import Settings
from knowledge.search import KnowledgeBase

# Asked with an agent's id before they go on duty; refuses by raising core.errors.ApiError. Packages
# above the console register theirs at start (ratings' standing suspends agents), so the console need not
# know them.
DutyGate = Callable[[int], Awaitable[None]]


@dataclass
class Console:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    hub: Hub
    bot: RasaClient
    knowledge: KnowledgeBase | None
    duty_gates: list[DutyGate] = field(default_factory=list)

    def register_duty_gate(self, gate: DutyGate) -> None:
        self.duty_gates.append(gate)


def make_console(services: Services) -> Console:
    """The console's view of the running service, made once at start and provided for the routes."""
    console = Console(
        settings=services.get(Settings),
        sessions=services.get(async_sessionmaker),
        bus=services.get(EventBus),
        hub=services.get(Hub),
        bot=services.get(RasaClient),
        knowledge=services.find(KnowledgeBase),
    )
    services.provide(Console, console)
    return console


def get_console(services: ServicesDep) -> Console:
    return services.get(Console)


ConsoleDep = Annotated[Console, Depends(get_console)]
