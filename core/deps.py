"""Injected dependencies of the ground floor: settings and the event bus."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.bus import EventBus
from core.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_bus(request: Request) -> EventBus:
    return request.app.state.bus


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
BusDep = Annotated[EventBus, Depends(get_bus)]
