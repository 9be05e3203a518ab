"""Logging in and out of the console."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agent_console import duty
from agent_console.context import ConsoleDep
from staff import auth
from staff.auth import CurrentAgent

router = APIRouter(prefix="/api/v1/console", tags=["console: login"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


@router.post("/login", summary="Log in: a session cookie for the console page, a bearer token for API clients")
async def login(body: LoginIn, request: Request, response: Response, console: ConsoleDep) -> dict:
    agent, token, csrf = await auth.login(console, body.username, body.password, auth.client_ip(request))
    auth.set_cookies(response, console.settings, token, csrf)
    response.headers["Cache-Control"] = "no-store"
    return {"token": token, "token_type": "bearer", "csrf_token": csrf, "agent": agent.public()}


@router.post("/logout")
async def logout(me: CurrentAgent, response: Response, console: ConsoleDep) -> dict:
    await auth.logout(console, me)
    auth.clear_cookies(response)
    return {"ok": True}


@router.get("/me")
async def whoami(me: CurrentAgent, console: ConsoleDep) -> dict:
    async with console.sessions() as session:
        shift = await duty.open_shift(session, me.id)
    return {
        "agent": {"id": me.id, "username": me.username, "display_name": me.display_name, "role": me.role,
                  "capacity": me.capacity, "skills": list(me.skills)},
        "duty": duty.shift_dict(shift),
    }
