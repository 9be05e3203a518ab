"""What staff identity needs from the running service: the settings and a database session factory.

The agent console's own context has both (and more), so it can be passed wherever this is asked for;
the knowledge admin and the campaign console get theirs from `StaffDep` without knowing the console.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

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


def get_staff(connection: HTTPConnection) -> StaffContext:
    state = connection.app.state
    return Staff(settings=state.settings, sessions=state.sessionmaker)


StaffDep = Annotated[StaffContext, Depends(get_staff)]
