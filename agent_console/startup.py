"""Starting and stopping the console's part of the service (called from the app's lifespan)."""
from __future__ import annotations

from functools import partial

from agent_console.background import Clock
from agent_console.callbacks import service_hours
from agent_console.citizen_replies import CitizenReplies
from agent_console.context import make_console
from agent_console.handoff import request_handoff
from conversations.handoff import Handoffs
from core.services import Services
from staff.accounts import bootstrap_admin


async def start(services: Services) -> None:
    console = make_console(services)
    service_hours(console.settings)  # a malformed CONSOLE_SERVICE_* setting stops the start, with how to fix it
    await bootstrap_admin(console)
    console.hub.register_interceptor(CitizenReplies(console))
    # Channels ask for a person through the contract; this pool's desk answers.
    services.get(Handoffs).register_desk(partial(request_handoff, console))
    clock = Clock(console)
    services.provide(Clock, clock)
    clock.start()


async def stop(services: Services) -> None:
    if (clock := services.find(Clock)) is not None:
        await clock.stop()
