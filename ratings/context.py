"""What the ratings need from the running process: settings, database, bus and clock."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.bus import EventBus
from core.clock import Clock, SystemClock
from core.settings import Settings


@dataclass
class Ratings:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    clock: Clock = field(default_factory=SystemClock)
