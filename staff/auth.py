"""Console logins and the current agent, injected into every console route.

A login is a random token: the browser keeps it in an HttpOnly, SameSite=Strict cookie, API clients
send it as a bearer token. Cookie-authenticated changes must also carry the login's CSRF token in
`X-CSRF-Token` (a page on another site can make the browser send the cookie, never read the token).
Logins expire after CONSOLE_SESSION_MINUTES, or sooner after CONSOLE_SESSION_IDLE_MINUTES unused.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from core.db import utcnow
from core.errors import ApiError, ErrorCodes
from core.settings import Settings
from staff import audit
from staff.context import StaffContext, StaffDep
from staff.models import ROLE_RANK, Agent, AuditEntry, ConsoleSession, Role
from staff.passwords import verify_password

COOKIE = "hpf_console"
CSRF_COOKIE = "hpf_console_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writing "last used" on every request would make each read a write; once a while is enough.
TOUCH_EVERY = timedelta(seconds=20)
LOGIN_WINDOW = timedelta(minutes=15)
# One address may fail this many times CONSOLE_LOGIN_ATTEMPTS, over all names, before it is slowed.
ADDRESS_ATTEMPTS_FACTOR = 4


@dataclass(frozen=True)
class Me:
    """The agent making the request."""

    id: int
    username: str
    display_name: str
    role: str
    capacity: int
    skills: tuple[str, ...]
    phone: str | None
    session_id: str
    ip: str | None

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(id=self.id, name=self.username, role=self.role, ip=self.ip)

    def can(self, role: Role) -> bool:
        return ROLE_RANK.get(Role(self.role), 0) >= ROLE_RANK[role]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_ip(request: HTTPConnection) -> str | None:
    return request.client.host if request.client else None


def cookie_secure(settings: Settings) -> bool:
    if settings.console_cookie_secure is not None:
        return settings.console_cookie_secure
    return settings.environment != "development" or settings.public_base_url.startswith("https://")


# -- logging in and out ---------------------------------------------------------------------------

async def login(staff: StaffContext, username: str, password: str, ip: str | None) -> tuple[Agent, str, str]:
    """Check the password; return the agent, a new session token and its CSRF token."""
    settings = staff.settings
    async with staff.sessions() as session:
        # Locked per name *and address*: wrong passwords typed elsewhere (agents' names are public to
        # citizens) cannot lock an agent out at their own desk; one address guessing across many names
        # is slowed as a whole.
        name_failures, address_failures = await _recent_failures(session, username, ip)
        if name_failures >= settings.console_login_attempts \
                or address_failures >= settings.console_login_attempts * ADDRESS_ATTEMPTS_FACTOR:
            raise ApiError(429, "too_many_logins", "登录失败次数过多，请15分钟后再试。")
        agent = await session.scalar(select(Agent).where(Agent.username == username))
        valid = await verify_password(agent.password_hash if agent else None, password)
        if not valid or agent is None or not agent.active:
            stranger = audit.Actor(None, username[:64], "unknown", ip)
            audit.record(session, stranger, "login_failed", f"user:{username}"[:80])
            await session.commit()
            raise ApiError(401, "invalid_credentials", "用户名或密码不正确。")
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = utcnow()
        session.add(
            ConsoleSession(
                id=_digest(token), agent_id=agent.id, csrf_token=csrf, created_at=now, last_used_at=now,
                expires_at=now + timedelta(minutes=settings.console_session_minutes),
            )
        )
        agent.last_seen_at = now
        audit.record(session, audit.Actor(agent.id, agent.username, agent.role, ip), "login", f"agent:{agent.id}")
        await session.commit()
        return agent, token, csrf


async def _recent_failures(session: AsyncSession, username: str, ip: str | None) -> tuple[int, int]:
    """Failed logins in the window: for this name from this address, and from this address for any name."""
    same_address = AuditEntry.ip.is_(None) if ip is None else AuditEntry.ip == ip
    target = f"user:{username}"[:80]
    query = select(
        func.count().filter(AuditEntry.target == target),
        func.count(),
    ).where(AuditEntry.action == "login_failed", same_address, AuditEntry.at >= utcnow() - LOGIN_WINDOW)
    name_failures, address_failures = (await session.execute(query)).one()
    return int(name_failures or 0), int(address_failures or 0)


def set_cookies(response: Response, settings: Settings, token: str, csrf: str) -> None:
    max_age = settings.console_session_minutes * 60
    secure = cookie_secure(settings)
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/")
    # Readable by the console's script, which echoes it in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict", secure=secure, path="/")


def clear_cookies(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


async def logout(staff: StaffContext, me: Me) -> None:
    async with staff.sessions() as session:
        await session.execute(
            update(ConsoleSession).where(ConsoleSession.id == me.session_id).values(ended_at=utcnow())
        )
        audit.record(session, me.actor, "logout", f"agent:{me.id}")
        await session.commit()


# -- who is asking ----------------------------------------------------------------------------------

def token_of(request: HTTPConnection) -> tuple[str | None, bool]:
    """The token and whether it came from the cookie (a request or a WebSocket)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None, False
    return request.cookies.get(COOKIE), True


async def authenticate(staff: StaffContext, token: str | None, ip: str | None) -> tuple[Me, ConsoleSession]:
    if not token:
        raise ApiError(401, "not_logged_in", "请先登录。")
    now = utcnow()
    async with staff.sessions() as session:
        row = await session.execute(
            select(ConsoleSession, Agent).join(Agent, Agent.id == ConsoleSession.agent_id)
            .where(ConsoleSession.id == _digest(token))
        )
        found = row.first()
        if found is None:
            raise ApiError(401, "not_logged_in", "请先登录。")
        login_row, agent = found
        idle_limit = timedelta(minutes=staff.settings.console_session_idle_minutes)
        if login_row.ended_at is not None or login_row.expires_at <= now or login_row.last_used_at + idle_limit <= now:
            raise ApiError(401, "session_expired", "登录已过期，请重新登录。")
        if not agent.active:
            raise ApiError(401, "account_disabled", "该账号已停用，请联系管理员。")
        if now - login_row.last_used_at >= TOUCH_EVERY:
            await _touch(session, login_row.id, agent.id, now)
        me = Me(
            id=agent.id, username=agent.username, display_name=agent.display_name, role=agent.role,
            capacity=agent.capacity, skills=tuple(agent.skills or ()), phone=agent.phone,
            session_id=login_row.id, ip=ip,
        )
        return me, login_row


async def _touch(session: AsyncSession, session_id: str, agent_id: int, now: datetime) -> None:
    await session.execute(update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_used_at=now))
    await session.execute(update(Agent).where(Agent.id == agent_id).values(last_seen_at=now))
    await session.commit()


async def current_agent(request: Request, staff: StaffDep) -> Me:
    token, from_cookie = token_of(request)
    me, login_row = await authenticate(staff, token, client_ip(request))
    if from_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent, login_row.csrf_token):
            raise ApiError(403, "csrf_failed", "页面已过期，请刷新后重试。")
    return me


def require_role(role: Role):
    """One dependency for every role check: the current agent, if their role reaches `role`."""

    async def check(me: Annotated[Me, Depends(current_agent)]) -> Me:
        if not me.can(role):
            raise ApiError(403, "forbidden", "没有权限执行此操作。")
        return me

    return check


def serves_citizens(me: Me) -> bool:
    """Agents serve citizens, and so do the supervisors and admins above them; a campaigner, who ranks
    with the agents only so as never to reach a supervisor's rights, prepares campaigns and nothing more."""
    return me.role != Role.CAMPAIGNER


async def serving_agent(me: Annotated[Me, Depends(current_agent)]) -> Me:
    if not serves_citizens(me):
        raise ApiError(403, "forbidden", "外呼专员不能上班接待，也不能查看等待队列。")
    return me


CurrentAgent = Annotated[Me, Depends(current_agent)]
ServingAgent = Annotated[Me, Depends(serving_agent)]  # takes duty, sees the pool, claims: not a campaigner
Supervisor = Annotated[Me, Depends(require_role(Role.SUPERVISOR))]
Admin = Annotated[Me, Depends(require_role(Role.ADMIN))]

# What the dependencies above answer with, for the routes' documented errors (core.errors.error_responses).
SIGNED_IN_ERRORS: ErrorCodes = {401: ("not_logged_in", "session_expired", "account_disabled")}
CSRF_ERRORS: ErrorCodes = {403: ("csrf_failed",)}  # changes (not GET) signed by the cookie
ROLE_ERRORS: ErrorCodes = {403: ("forbidden",)}
