"""What the console's services need from the running service, gathered once at start."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.models import Handoff
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from conversations.replies import Reply
from core.bus import EventBus
from core.deps import ServicesDep
from core.services import Services
from core.settings import Settings
from knowledge.search import KnowledgeBase

# Asked with an agent's id before they go on duty; refuses by raising core.errors.ApiError. Packages
# above the console register theirs at start (ratings' standing suspends agents), so the console need not
# know them.
DutyGate = Callable[[int], Awaitable[None]]
# Builds the rating request sent when an agent finishes a handoff; None: this handoff was asked already.
# Ratings registers it at start and then answers the citizen's reply itself (its own hub interceptor);
# without one the console asks and stores the reply on the handoff in its own simple way.
RatingAsker = Callable[[Handoff], Awaitable[Reply | None]]


@dataclass
class Console:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    hub: Hub
    bot: RasaClient
    knowledge: KnowledgeBase | None
    duty_gates: list[DutyGate] = field(default_factory=list)
    rating_asker: RatingAsker | None = None

    def register_duty_gate(self, gate: DutyGate) -> None:
        self.duty_gates.append(gate)

    def register_rating_asker(self, asker: RatingAsker) -> None:
        self.rating_asker = asker


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
