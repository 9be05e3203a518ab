"""Voice channels: the 24/7 phone line (Twilio) and in-browser voice (WebRTC, aiortc)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from conversations.handoff import Handoffs
from conversations.hub import Hub
from conversations.models import Channel
from core.bus import EventBus
from core.services import Services
from core.settings import Settings


async def start(services: Services) -> None:
    """Called by the app's lifespan once the hub exists."""
    from channels.voice.phone_line import PhoneLine
    from channels.voice.webrtc import VoiceCalls

    settings, hub = services.get(Settings), services.get(Hub)
    phone = PhoneLine(
        settings, sessions=services.get(async_sessionmaker), bus=services.get(EventBus), hub=hub,
        handoffs=services.get(Handoffs),
    )
    services.provide(PhoneLine, phone)
    hub.register_pusher(Channel.PHONE, phone.push)
    calls = VoiceCalls(settings, hub)
    services.provide(VoiceCalls, calls)
    await calls.load_engines()


async def stop(services: Services) -> None:
    """Hang up what is still open: no call's tasks outlive the service."""
    from channels.voice.phone_line import PhoneLine
    from channels.voice.webrtc import VoiceCalls

    if (calls := services.find(VoiceCalls)) is not None:
        await calls.close()
    if (phone := services.find(PhoneLine)) is not None:
        await phone.watcher.close()
