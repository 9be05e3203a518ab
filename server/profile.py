"""`GET /api/v1/service/profile`: the centre's constants (hotline, name, city) from the settings that own
them. The bot's action server reads them at each session start, so its replies never type them."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from core.deps import SettingsDep
from core.errors import error_responses

router = APIRouter(prefix="/api/v1/service", tags=["service"])


class Profile(BaseModel):
    hotline: str
    centre_name: str
    city: str


@router.get("/profile", response_model=Profile, responses=error_responses())
async def profile(settings: SettingsDep) -> Profile:
    return Profile(hotline=settings.hotline, centre_name=settings.centre_name, city=settings.city)
