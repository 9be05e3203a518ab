"""Whether a person can take over now: the bot says so honestly before offering a handoff."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from agent_console import callbacks, pool
from agent_console.context import ConsoleDep
from core.errors import error_responses

router = APIRouter(prefix="/api/v1/service", tags=["service"])


class Availability(BaseModel):
    agents_available: bool
    agents_on_duty: int
    message: str


@router.get("/agents", response_model=Availability, responses=error_responses())
async def agents(console: ConsoleDep) -> Availability:
    async with console.sessions() as session:
        staff = await pool.staffing(session)
    if staff.staffed:
        return Availability(
            agents_available=True,
            agents_on_duty=staff.on_duty + staff.on_break,
            message=f"人工客服在线，您可以说“转人工”由客服为您服务，也可以拨打服务热线 {console.settings.hotline}。",
        )
    hours = callbacks.service_hours(console.settings).describe()
    return Availability(
        agents_available=False,
        agents_on_duty=0,
        message=(f"目前暂无人工客服在线（人工服务时间：{hours}）。您可以说“转人工”留下问题，工作人员会联系您；"
                 f"也可以继续向我提问，或拨打住房公积金服务热线 {console.settings.hotline}。"),
    )
