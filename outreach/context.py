"""What outreach needs from the running process: settings, database and clock. The service builds one;
a command-line run (synthetic data, segment previews) builds its own."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, SystemClock
from core.settings import Settings
from outreach.link_opens import OpenRecorder


@dataclass
class Outreach:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)
    # One writer of link opens per process (see link_opens), made with the context.
    opens: OpenRecorder = field(init=False)

    def __post_init__(self) -> None:
        self.opens = OpenRecorder(self.sessions)
