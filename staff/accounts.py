"""Agent accounts: created and changed by admins; the first admin comes from CONSOLE_BOOTSTRAP_ADMIN."""
from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.db import utcnow
from core.errors import ApiError
from staff import audit
from staff.auth import Me
from staff.context import StaffContext
from staff.models import Agent, ConsoleSession, Role
from staff.passwords import MIN_LENGTH, hash_password

log = logging.getLogger(__name__)


async def create(
    staff: StaffContext, *, username: str, password: str, role: Role, capacity: int, display_name: str | None = None,
    skills: list[str] | None = None, phone: str | None = None, actor: audit.Actor,
) -> Agent:
    if len(password) < MIN_LENGTH:
        raise ApiError(422, "weak_password", f"密码至少需要{MIN_LENGTH}位。")
    # Citizens see the display name ("人工客服 客服 0123 王"), never the login name: without one given,
    # the account is "客服 <id>" until an admin names it.
    agent = Agent(
        username=username, display_name=display_name or "客服", password_hash=await hash_password(password),
        role=role, capacity=capacity, skills=sorted(set(skills or [])), phone=phone, active=True, created_at=utcnow(),
    )
    async with staff.sessions() as session:
        session.add(agent)
        try:
            await session.flush()
        except IntegrityError:
            raise ApiError(409, "username_taken", "该用户名已被使用。") from None
        if not display_name:
            agent.display_name = default_display_name(agent.id)
        audit.record(session, actor, "agent_create", f"agent:{agent.id}", username=username, role=role,
                     capacity=capacity)
        await session.commit()
    return agent


def default_display_name(agent_id: int) -> str:
    return f"客服 {agent_id:04d}"


async def update(staff: StaffContext, me: Me, agent_id: int, changes: dict) -> Agent:
    """Change role, capacity, skills, name, phone, password or the active flag. A password change or a
    deactivation ends the agent's logins."""
    async with staff.sessions() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise ApiError(404, "agent_not_found", "该客服账号不存在。")
        if agent_id == me.id and (changes.get("active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN):
            raise ApiError(422, "cannot_demote_self", "不能停用自己或降低自己的权限。")
        password = changes.pop("password", None)
        if password is not None:
            if len(password) < MIN_LENGTH:
                raise ApiError(422, "weak_password", f"密码至少需要{MIN_LENGTH}位。")
            agent.password_hash = await hash_password(password)
        for field, value in changes.items():
            setattr(agent, field, sorted(set(value)) if field == "skills" else value)
        if password is not None or changes.get("active") is False:
            for login in (await session.scalars(
                select(ConsoleSession).where(ConsoleSession.agent_id == agent_id, ConsoleSession.ended_at.is_(None))
            )).all():
                login.ended_at = utcnow()
        audit.record(session, me.actor, "agent_update", f"agent:{agent_id}",
                     fields=sorted([*changes, *(["password"] if password is not None else [])]))
        await session.commit()
    return agent


async def bootstrap_admin(staff: StaffContext) -> None:
    """Create CONSOLE_BOOTSTRAP_ADMIN (name:password) if there is no admin yet. Several processes may
    start at once: the unique username lets only one create it."""
    spec = staff.settings.console_bootstrap_admin.get_secret_value()
    if not spec:
        return
    username, _, password = spec.partition(":")
    if not username or not password:
        raise ValueError("CONSOLE_BOOTSTRAP_ADMIN must be name:password")
    async with staff.sessions() as session:
        admins = await session.scalar(select(func.count()).where(Agent.role == Role.ADMIN))
    if admins:
        return
    try:
        await create(staff, username=username, password=password, role=Role.ADMIN,
                     capacity=staff.settings.console_default_capacity, display_name="管理员", actor=audit.SYSTEM)
        log.info("console admin %r created", username)
    except ApiError as error:
        if error.code != "username_taken":
            raise ValueError(f"CONSOLE_BOOTSTRAP_ADMIN: {error.message}") from None
