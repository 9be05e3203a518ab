"""Injected dependencies shared by the routers: settings, event bus, conversation hub."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from core.bus import EventBus
from core.settings import Settings

if TYPE_CHECKING:
    from channels.hub import Hub


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_bus(request: Request) -> EventBus:
    return request.app.state.bus


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
BusDep = Annotated[EventBus, Depends(get_bus)]
HubDep = Annotated["Hub", Depends(get_hub)]
