"""Injected dependencies of the outreach routes."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.deps import ServicesDep
from outreach.context import Outreach


def get_outreach(services: ServicesDep) -> Outreach:
    return services.get(Outreach)


OutreachDep = Annotated[Outreach, Depends(get_outreach)]
