"""Injected dependencies of the ground floor: settings, the database and the event bus."""
from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from core.bus import EventBus
from core.errors import ApiError
from core.services import Services, services_of
from core.settings import Settings


def get_services(connection: HTTPConnection) -> Services:
    return services_of(connection)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings_dep(services: ServicesDep) -> Settings:
    return services.get(Settings)


def get_sessions(services: ServicesDep) -> async_sessionmaker[AsyncSession]:
    return services.get(async_sessionmaker)


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]


async def get_session(sessions: SessionsDep) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


def get_bus(services: ServicesDep) -> EventBus:
    return services.get(EventBus)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
BusDep = Annotated[EventBus, Depends(get_bus)]


def from_the_bot(connection: HTTPConnection, settings: SettingsDep) -> bool:
    """Whether the request carries the action server's key (X-Bot-Key)."""
    sent = connection.headers.get("x-bot-key", "")
    return bool(sent) and hmac.compare_digest(sent.encode(), settings.bot_api_key.get_secret_value().encode())


def require_bot(is_bot: Annotated[bool, Depends(from_the_bot)]) -> None:
    if not is_bot:
        raise ApiError(401, "bot_unauthorized", "只有智能客服的动作服务器可以调用此接口。")


FromTheBot = Annotated[bool, Depends(from_the_bot)]
BOT_ERRORS = {401: ("bot_unauthorized",)}
