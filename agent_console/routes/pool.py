"""The waiting pool and grab-the-line claims."""
from __future__ import annotations

from fastapi import APIRouter, Path

from agent_console import claims, duty, pool
from agent_console.context import ConsoleDep
from agent_console.models import ShiftState
from agent_console.routes.schemas import Claimed, PoolOut
from core.errors import INVALID_REQUEST, ApiError, error_responses
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, ServingAgent
from staff.models import Role

router = APIRouter(prefix="/api/v1/console", tags=["console: pool"])
ConversationId = Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")


@router.get("/pool", response_model=PoolOut,
            summary="Waiting conversations (priority, then oldest first) and open callback tickets; "
                    "an agent sees them only while on duty, supervisors and admins always",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS, {403: ("not_on_duty", "on_break")}))
async def get_pool(me: ServingAgent, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        shift = await duty.open_shift(session, me.id)
        on_duty = shift is not None and shift.state == ShiftState.ON_DUTY
        # The previews are citizens' own words: an agent reads them only while able to take the work,
        # the same rule as the live socket's pool events.
        if not on_duty and not me.can(Role.SUPERVISOR):
            if shift is not None and shift.state == ShiftState.ON_BREAK:
                raise ApiError(403, "on_break", "您正在小休，结束小休后可查看等待队列。")
            raise ApiError(403, "not_on_duty", "您当前不在岗，请先申请上班后再查看等待队列。")
        return {
            "on_duty": on_duty,
            "waiting": await pool.waiting_items(session),
            "tickets": await pool.open_tickets(session),
        }


@router.post(
    "/conversations/{conversation_id}/claim", response_model=Claimed,
    summary="Grab a waiting conversation: 200 to exactly one agent, 409 to everyone else",
    responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST, {
        403: ("not_on_duty", "on_break", "skill_required", "forbidden"),
        404: ("conversation_not_found", "agent_not_found"),
        409: ("already_taken", "not_waiting", "at_capacity"),
    }),
)
async def claim(me: ServingAgent, console: ConsoleDep, conversation_id: str = ConversationId) -> dict:
    taken = await claims.claim(console, me, conversation_id)
    return {"conversation_id": taken.conversation_id, "agent_id": taken.agent_id, "channel": taken.channel}
