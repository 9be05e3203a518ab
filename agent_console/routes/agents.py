"""Agent accounts: admins create and change them, supervisors and admins list them; an agent sees only
the colleagues on duty it may transfer to (display names, no usernames or roles)."""
from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from agent_console import duty, pool
from agent_console.context import Console, ConsoleDep
from agent_console.models import ShiftState
from agent_console.routes.schemas import AgentOut, AgentsOut, TransferTargetsOut
from core.errors import INVALID_REQUEST, error_responses
from staff import accounts
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, Admin, ServingAgent, Supervisor
from staff.models import Role

router = APIRouter(prefix="/api/v1/console/agents", tags=["console: agents"])

USERNAME = r"^[A-Za-z0-9_.@-]{2,64}$"


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=1, max_length=128)
    role: Role = Role.AGENT
    capacity: int = Field(3, ge=1, le=50)
    display_name: str | None = Field(None, min_length=1, max_length=100)
    skills: list[str] = Field(default_factory=list, max_length=20)
    phone: str | None = Field(None, pattern=r"^\+?[0-9]{3,20}$")


class AgentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(None, min_length=1, max_length=128)
    role: Role | None = None
    capacity: int | None = Field(None, ge=1, le=50)
    display_name: str | None = Field(None, min_length=1, max_length=100)
    skills: list[str] | None = Field(None, max_length=20)
    phone: str | None = Field(None, pattern=r"^\+?[0-9]{3,20}$")
    active: bool | None = None


@router.post(
    "", status_code=201, response_model=AgentOut, summary="Create an agent, supervisor or admin (admins only)",
    responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, ROLE_ERRORS, INVALID_REQUEST,
                              {409: ("username_taken",), 422: ("weak_password",)}),
)
async def create_agent(body: AgentIn, me: Admin, console: ConsoleDep) -> dict:
    agent = await accounts.create(
        console, username=body.username, password=body.password, role=body.role, capacity=body.capacity,
        display_name=body.display_name, skills=[s.strip()[:32] for s in body.skills if s.strip()], phone=body.phone,
        actor=me.actor,
    )
    return agent.public()


@router.patch(
    "/{agent_id}", response_model=AgentOut,
    summary="Change an account (admins only); a new password or deactivation logs it out",
    responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, ROLE_ERRORS, INVALID_REQUEST,
                              {404: ("agent_not_found",), 422: ("weak_password", "cannot_demote_self")}),
)
async def change_agent(agent_id: int, body: AgentChange, me: Admin, console: ConsoleDep) -> dict:
    changes = body.model_dump(exclude_unset=True)
    return (await accounts.update(console, me, agent_id, changes)).public()


async def _roster_and_loads(console: Console) -> tuple[list, dict[int, int]]:
    """Every account with its shift, and the conversations each holds now."""
    async with console.sessions() as session:
        return await duty.roster(session), await pool.loads(session)


@router.get("", response_model=AgentsOut,
            summary="Every account with its role, duty state and load (supervisors and admins only)",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def list_agents(me: Supervisor, console: ConsoleDep) -> dict:
    roster, loads = await _roster_and_loads(console)
    return {"agents": [
        {**agent.public(), "duty": shift.state if shift else "off", "load": loads.get(agent.id, 0)}
        for agent, shift in roster
    ]}


@router.get("/transfer-targets", response_model=TransferTargetsOut,
            summary="Whom a conversation can be transferred to: colleagues on duty and the skill groups",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def transfer_targets(me: ServingAgent, console: ConsoleDep) -> dict:
    # What the transfer menu needs and no more: a name to pick and the load to choose by; usernames
    # (half a login) and roles stay with the supervisors' account list.
    roster, loads = await _roster_and_loads(console)
    on_duty = [
        agent for agent, shift in roster
        if shift is not None and shift.state == ShiftState.ON_DUTY and agent.id != me.id
    ]
    return {
        "agents": [{"id": agent.id, "display_name": agent.display_name, "load": loads.get(agent.id, 0),
                    "capacity": agent.capacity} for agent in on_duty],
        "skills": sorted({skill for agent, _ in roster if agent.role != Role.CAMPAIGNER
                          for skill in agent.skills or []}),
    }
