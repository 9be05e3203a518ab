"""Injected dependencies of the campaign routes: the engine's context and who may prepare campaigns."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from callout.context import Callout
from core.deps import ServicesDep
from core.errors import ApiError
from staff.auth import Me, current_agent
from staff.models import Role


def get_callout(services: ServicesDep) -> Callout:
    return services.get(Callout)


async def campaign_preparer(me: Annotated[Me, Depends(current_agent)]) -> Me:
    """Campaigners prepare campaigns; supervisors and admins may too (and they alone approve)."""
    if me.role != Role.CAMPAIGNER and not me.can(Role.SUPERVISOR):
        raise ApiError(403, "forbidden", "没有权限执行此操作。")
    return me


CalloutDep = Annotated[Callout, Depends(get_callout)]
CampaignPreparer = Annotated[Me, Depends(campaign_preparer)]
