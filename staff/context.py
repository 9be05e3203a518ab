"""What staff identity needs from the running service: the settings and a database session factory.

The agent console's own context has both (and more), so it can be passed wherever this is asked for;
the knowledge admin and the campaign console get theirs from `StaffDep` without knowing the console.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.deps import SessionsDep, SettingsDep
from core.settings import Settings


class StaffContext(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...


@dataclass(frozen=True)
class Staff:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]


def get_staff(settings: SettingsDep, sessions: SessionsDep) -> StaffContext:
    return Staff(settings=settings, sessions=sessions)


StaffDep = Annotated[StaffContext, Depends(get_staff)]
