"""Injected dependencies of the conversation domain: the hub, the bot and the door to a person."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from conversations.bot_client import RasaClient
from conversations.handoff import Handoffs
from conversations.hub import Hub
from core.deps import ServicesDep


def get_hub(services: ServicesDep) -> Hub:
    return services.get(Hub)


def get_bot(services: ServicesDep) -> RasaClient:
    return services.get(RasaClient)


def get_handoffs(services: ServicesDep) -> Handoffs:
    return services.get(Handoffs)


HubDep = Annotated[Hub, Depends(get_hub)]
BotDep = Annotated[RasaClient, Depends(get_bot)]
HandoffsDep = Annotated[Handoffs, Depends(get_handoffs)]
