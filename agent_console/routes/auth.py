"""Logging in and out of the console."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agent_console import duty
from agent_console.context import ConsoleDep
from agent_console.routes.schemas import LoggedOut, LoginOut, MeOut
from core.errors import INVALID_REQUEST, error_responses
from staff import auth
from staff.auth import CSRF_ERRORS, SIGNED_IN_ERRORS, CurrentAgent

router = APIRouter(prefix="/api/v1/console", tags=["console: login"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


@router.post(
    "/login", response_model=LoginOut,
    summary="Log in: a session cookie for the console page, a bearer token for API clients",
    responses=error_responses(INVALID_REQUEST, {401: ("invalid_credentials",), 429: ("too_many_logins",)}),
)
async def login(body: LoginIn, request: Request, response: Response, console: ConsoleDep) -> dict:
    agent, token, csrf = await auth.login(console, body.username, body.password, auth.client_ip(request))
    auth.set_cookies(response, console.settings, token, csrf)
    response.headers["Cache-Control"] = "no-store"
    return {"token": token, "token_type": "bearer", "csrf_token": csrf, "agent": agent.public()}


@router.post("/logout", response_model=LoggedOut, responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS))
async def logout(me: CurrentAgent, response: Response, console: ConsoleDep) -> dict:
    await auth.logout(console, me)
    auth.clear_cookies(response)
    return {"ok": True}


@router.get("/me", response_model=MeOut, response_model_exclude_unset=True,
            responses=error_responses(SIGNED_IN_ERRORS))
async def whoami(me: CurrentAgent, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        shift = await duty.open_shift(session, me.id)
    return {
        "agent": {"id": me.id, "username": me.username, "display_name": me.display_name, "role": me.role,
                  "capacity": me.capacity, "skills": list(me.skills)},
        "duty": duty.shift_dict(shift),
    }
