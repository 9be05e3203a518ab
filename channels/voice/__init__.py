"""Voice channels: the 24/7 phone line (Twilio) and in-browser voice (WebRTC, aiortc)."""
from __future__ import annotations

from fastapi import FastAPI

from conversations.models import Channel


async def start(app: FastAPI) -> None:
    """Called by the app's lifespan once the hub exists."""
    from channels.voice.phone_line import PhoneLine
    from channels.voice.webrtc import VoiceCalls

    state, settings = app.state, app.state.settings
    state.phone = PhoneLine(state, settings)
    state.hub.register_pusher(Channel.PHONE, state.phone.push)
    state.voice = VoiceCalls(state, settings)
    await state.voice.load_engines()


async def stop(app: FastAPI) -> None:
    """Hang up what is still open: no call's tasks outlive the service."""
    if (voice := getattr(app.state, "voice", None)) is not None:
        await voice.close()
    if (phone := getattr(app.state, "phone", None)) is not None:
        await phone.watcher.close()
