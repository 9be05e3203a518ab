"""Starting and stopping the console's part of the service (called from the app's lifespan)."""
from __future__ import annotations

from fastapi import FastAPI

from agent_console.background import Clock
from agent_console.callbacks import service_hours
from agent_console.citizen_replies import CitizenReplies
from agent_console.context import console_of
from agent_console.handoff import request_handoff
from conversations.handoff import register_desk
from staff.accounts import bootstrap_admin


async def start(app: FastAPI) -> None:
    console = console_of(app.state)
    service_hours(console.settings)  # a malformed CONSOLE_SERVICE_* setting stops the start, with how to fix it
    await bootstrap_admin(console)
    console.hub.register_interceptor(CitizenReplies(console))
    register_desk(app.state, request_handoff)  # channels ask for a person through the contract
    app.state.console_clock = Clock(console)
    app.state.console_clock.start()


async def stop(app: FastAPI) -> None:
    if (clock := getattr(app.state, "console_clock", None)) is not None:
        await clock.stop()
