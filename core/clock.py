"""The time as the engines read it: passed in (`Clock`), so tests can freeze it across a window's end,
a holiday or a link's expiry."""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Protocol

from core.db import utcnow


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
