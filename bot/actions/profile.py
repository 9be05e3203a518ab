"""The centre's constants (hotline, name, city), from the service that owns them (HOTLINE, CENTRE_NAME, CITY).

Asked for at each session start and kept for a while; replies read the last known values without a
call, so a reply that says "the service is down, call the hotline" never waits on the service. Until the
service first answers, its own defaults stand in (kept equal to core/settings.py by a unit test).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields

from . import service

# Slots the domain's responses name ({hotline}, {centre_name}); the session-start action fills them.
SLOTS = ("hotline", "centre_name", "city")
REFRESH_S = 300.0  # a changed setting reaches new sessions within this
RETRY_S = 30.0     # after a failed call, the service is not asked again for this long


@dataclass(frozen=True)
class Profile:
    hotline: str
    centre_name: str
    city: str


DEFAULT = Profile(hotline="12329", centre_name="邯郸市住房公积金管理中心", city="邯郸")


class ProfileCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._profile = DEFAULT
        self._next_call = 0.0

    @property
    def current(self) -> Profile:
        return self._profile

    async def refresh(self) -> Profile:
        """Ask the service when the kept values are due; on failure keep them and retry later."""
        now = self._clock()
        if now < self._next_call:
            return self._profile
        try:
            data = await service.profile()
        except service.ServiceError:
            self._next_call = now + RETRY_S
            return self._profile
        known = {f.name: getattr(self._profile, f.name) for f in fields(Profile)}
        given = {name: str(data[name]).strip() for name in known if isinstance(data.get(name), str)}
        self._profile = Profile(**(known | {name: value for name, value in given.items() if value}))
        self._next_call = now + REFRESH_S
        return self._profile


CACHE = ProfileCache()


def hotline() -> str:
    return CACHE.current.hotline
