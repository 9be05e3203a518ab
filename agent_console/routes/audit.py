"""The audit trail, searchable by supervisors (read only: there is no route that changes it)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from agent_console.context import ConsoleDep
from agent_console.routes.schemas import AuditOut
from core.errors import INVALID_REQUEST, error_responses
from staff import audit
from staff.auth import ROLE_ERRORS, SIGNED_IN_ERRORS, Supervisor

router = APIRouter(prefix="/api/v1/console/audit", tags=["console: audit"])


@router.get("", response_model=AuditOut,
            summary="Audit entries, newest first; filter by who, what, which target and when",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST))
async def search(
    me: Supervisor, console: ConsoleDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    target: Annotated[str | None, Query(max_length=80)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    async with console.sessions() as session:
        entries = await audit.search(session, actor=actor, action=action, target=target, since=since, until=until,
                                     before_id=before_id, limit=limit)
    return {"entries": [audit.to_dict(e) for e in entries]}
