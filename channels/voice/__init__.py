"""Voice channels: the 24/7 phone line (Twilio) and in-browser voice (WebRTC, aiortc)."""
from __future__ import annotations

from fastapi import FastAPI

from channels.models import Channel


async def start(app: FastAPI) -> None:
    """Called by the app's lifespan once the hub exists."""
    from channels.voice.phone_line import PhoneLine

    state = app.state
    state.phone = PhoneLine(state, app.state.settings)
    state.hub.register_pusher(Channel.PHONE, state.phone.push)


async def stop(app: FastAPI) -> None:
    phone = getattr(app.state, "phone", None)
    if phone is not None:
        await phone.watcher.close()
