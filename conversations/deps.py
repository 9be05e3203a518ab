"""Injected dependencies of the conversation domain: the hub."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conversations.hub import Hub


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]
