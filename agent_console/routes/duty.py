"""Going on and off duty, breaks, and the supervisor's approval of duty requests."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from agent_console import duty
from agent_console.context import ConsoleDep
from agent_console.models import Shift, ShiftState
from agent_console.routes.schemas import DutyEnded, DutyPolicy, DutyRequestsOut, OffDuty, ShiftOut
from core.errors import INVALID_REQUEST, ErrorCodes, error_responses
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, CurrentAgent, ServingAgent, Supervisor
from staff.models import Agent

router = APIRouter(prefix="/api/v1/console/duty", tags=["console: duty"])
CHANGE = (SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST)
# What the registered duty gates refuse with (ratings' standing: an agent suspended from the line).
DUTY_GATE_ERRORS: ErrorCodes = {403: ("agent_suspended",)}


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


# A shift off duty has no times: ShiftOut's answers leave out the keys the shift never had.
@router.get("", response_model=ShiftOut, response_model_exclude_unset=True,
            responses=error_responses(SIGNED_IN_ERRORS))
async def my_duty(me: CurrentAgent, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        return duty.shift_dict(await duty.open_shift(session, me.id))


@router.post(
    "", response_model=ShiftOut, response_model_exclude_unset=True,
    summary="Go on duty for a number of minutes (or apply, when supervisors approve)",
    responses=error_responses(
        *CHANGE, ROLE_ERRORS, DUTY_GATE_ERRORS,
        {409: ("duty_pending", "already_on_duty", "duty_changed"), 422: ("duty_too_long",)},
    ),
)
async def go_on_duty(body: DutyIn, me: ServingAgent, console: ConsoleDep) -> dict:
    return await duty.apply(console, me, body.minutes)


@router.post("/break", response_model=ShiftOut, response_model_exclude_unset=True,
             summary="Start or end a break: on a break nothing is pushed to you",
             responses=error_responses(*CHANGE, ROLE_ERRORS, {409: ("duty_state",)}))
async def take_break(body: BreakIn, me: ServingAgent, console: ConsoleDep) -> dict:
    return await duty.set_break(console, me, body.on)


@router.delete("", response_model=OffDuty,
               summary="Go off duty (conversations you hold stay with you until you finish them)",
               responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS))
async def go_off_duty(me: CurrentAgent, console: ConsoleDep) -> dict:
    ended = await duty.end(console, me.id, me.actor, "manual")
    return {"ended": ended, "state": "off"}


@router.get("/requests", response_model=DutyRequestsOut, response_model_exclude_unset=True,
            summary="Duty requests waiting for approval (supervisors)",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
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


@router.post("/{shift_id}/decision", response_model=ShiftOut, response_model_exclude_unset=True,
             summary="Approve or reject a duty request (supervisors)",
             responses=error_responses(*CHANGE, ROLE_ERRORS, DUTY_GATE_ERRORS,
                                       {404: ("shift_not_found",), 409: ("shift_decided",)}))
async def decide(shift_id: int, body: DecisionIn, me: Supervisor, console: ConsoleDep) -> dict:
    return await duty.decide(console, me, shift_id, body.approve)


@router.post("/agents/{agent_id}/end", response_model=DutyEnded, summary="End an agent's duty (supervisors)",
             responses=error_responses(*CHANGE, ROLE_ERRORS))
async def end_agent_duty(agent_id: int, me: Supervisor, console: ConsoleDep) -> dict:
    return {"ended": await duty.end(console, agent_id, me.actor, "supervisor")}


@router.get("/policy", response_model=DutyPolicy, responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def get_policy(me: Supervisor, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        return {"auto_approve": await duty.auto_approve(console, session)}


@router.put("/policy", response_model=DutyPolicy,
            summary="Approve duty requests automatically, or by hand (supervisors)",
            responses=error_responses(*CHANGE, ROLE_ERRORS))
async def set_policy(body: PolicyIn, me: Supervisor, console: ConsoleDep) -> dict:
    return {"auto_approve": await duty.set_auto_approve(console, me, body.auto_approve)}

