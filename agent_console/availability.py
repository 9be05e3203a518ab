"""Whether a person can take over now: the bot says so honestly before offering a handoff."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from core.deps import SettingsDep

router = APIRouter(prefix="/api/v1/service", tags=["service"])


class Availability(BaseModel):
    agents_available: bool
    agents_on_duty: int
    message: str


@router.get("/agents", response_model=Availability)
async def agents(settings: SettingsDep) -> Availability:
    # The roster does not exist yet, so nobody is on duty; say so rather than promise a person.
    return Availability(
        agents_available=False,
        agents_on_duty=0,
        message=f"目前暂无人工客服在线。您可以继续向我提问，或拨打住房公积金服务热线 {settings.hotline}。",
    )
