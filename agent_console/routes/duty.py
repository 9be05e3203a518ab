"""Going on and off duty, breaks, and the supervisor's approval of duty requests."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from agent_console import duty
from agent_console.context import ConsoleDep
from agent_console.models import Shift, ShiftState
from staff.auth import CurrentAgent, Supervisor
from staff.models import Agent

router = APIRouter(prefix="/api/v1/console/duty", tags=["console: duty"])


class DutyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(ge=1, description="how long to stay on duty; ends by itself afterwards")


class BreakIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auto_approve: bool


@router.get("")
async def my_duty(me: CurrentAgent, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        return duty.shift_dict(await duty.open_shift(session, me.id))


@router.post("", summary="Go on duty for a number of minutes (or apply, when supervisors approve)")
async def go_on_duty(body: DutyIn, me: CurrentAgent, console: ConsoleDep) -> dict:
    return await duty.apply(console, me, body.minutes)


@router.post("/break", summary="Start or end a break: on a break nothing is pushed to you")
async def take_break(body: BreakIn, me: CurrentAgent, console: ConsoleDep) -> dict:
    return await duty.set_break(console, me, body.on)


@router.delete("", summary="Go off duty (conversations you hold stay with you until you finish them)")
async def go_off_duty(me: CurrentAgent, console: ConsoleDep) -> dict:
    ended = await duty.end(console, me.id, me.actor, "manual")
    return {"ended": ended, "state": "off"}


@router.get("/requests", summary="Duty requests waiting for approval (supervisors)")
async def requests(me: Supervisor, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        rows = (await session.execute(
            select(Shift, Agent.display_name).join(Agent, Agent.id == Shift.agent_id)
            .where(Shift.state == ShiftState.PENDING).order_by(Shift.requested_at)
        )).all()
        automatic = await duty.auto_approve(console, session)
    return {
        "auto_approve": automatic,
        "requests": [
            {**duty.shift_dict(shift), "agent_id": shift.agent_id, "display_name": name} for shift, name in rows
        ],
    }


@router.post("/{shift_id}/decision", summary="Approve or reject a duty request (supervisors)")
async def decide(shift_id: int, body: DecisionIn, me: Supervisor, console: ConsoleDep) -> dict:
    return await duty.decide(console, me, shift_id, body.approve)


@router.post("/agents/{agent_id}/end", summary="End an agent's duty (supervisors)")
async def end_agent_duty(agent_id: int, me: Supervisor, console: ConsoleDep) -> dict:
    return {"ended": await duty.end(console, agent_id, me.actor, "supervisor")}


@router.get("/policy")
async def get_policy(me: Supervisor, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        return {"auto_approve": await duty.auto_approve(console, session)}


@router.put("/policy", summary="Approve duty requests automatically, or by hand (supervisors)")
async def set_policy(body: PolicyIn, me: Supervisor, console: ConsoleDep) -> dict:
    return {"auto_approve": await duty.set_auto_approve(console, me, body.auto_approve)}

