"""Factories for the console tests: the console's parts wired to a real database, agents, citizens in
the pool, and small waits."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from sqlalchemy import create_engine, insert, select

from agent_console import duty
from agent_console.context import Console
from agent_console.handoff import HandoffOutcome, request_handoff
from conversations.hub import Hub
from conversations.models import Conversation
from core.bus import LocalBus
from core.db import utcnow
from core.events import Event
from core.settings import normalise_db_url
from fakes.rasa import FakeRasa
from staff import accounts
from staff.audit import SYSTEM
from staff.auth import Me
from staff.models import Agent, AuditEntry, Role
from tests.messages import said

# Hashing with the production cost for every test agent would take minutes; verification reads the cost
# from the hash itself, so accounts made with this one log in just as fast.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "secret-pass-1"


@dataclass
class World:
    """The console's parts on one database, as the service assembles them (without the HTTP layer)."""

    console: Console
    hub: Hub
    bus: LocalBus
    rasa: FakeRasa
    agents: dict[str, Me] = field(default_factory=dict)

    async def agent(self, name: str, *, role: Role = Role.AGENT, capacity: int = 3, skills: list[str] | None = None,
                    on_duty: bool = True) -> Me:
        made = await accounts.create(self.console, username=name, password=PASSWORD, role=role, capacity=capacity,
                                     display_name=f"客服{name}", skills=skills, actor=SYSTEM)
        me = as_me(made)
        if on_duty:
            await duty.apply(self.console, me, 60)
        self.agents[name] = me
        return me

    async def citizen(self, user: str, text: str = "我要转人工", *, channel: str = "app") -> Conversation:
        conversation = await self.hub.open_conversation(channel=channel, kind=channel, value=user)
        await self.hub.receive(conversation, said(conversation, text))
        return conversation

    async def ask_for_person(self, user: str, reason: str = "citizen_request", **extra) -> tuple[str, HandoffOutcome]:
        conversation = await self.citizen(user, extra.pop("text", "我要转人工"))
        outcome = await request_handoff(self.console, conversation_id=conversation.id, reason=reason, **extra)
        return conversation.id, outcome

    async def status(self, conversation_id: str) -> str:
        async with self.console.sessions() as session:
            return await session.scalar(select(Conversation.status).where(Conversation.id == conversation_id))

    async def audit_actions(self, target: str | None = None) -> list[tuple[str, str]]:
        async with self.console.sessions() as session:
            query = select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id)
            if target:
                query = query.where(AuditEntry.target == target)
            return [tuple(row) for row in (await session.execute(query)).all()]


def as_me(agent: Agent) -> Me:
    return Me(id=agent.id, username=agent.username, display_name=agent.display_name, role=agent.role,
              capacity=agent.capacity, skills=tuple(agent.skills or ()), phone=agent.phone, session_id="test", ip=None)


async def collect(events: AsyncIterator[Event], seconds: float) -> list[Event]:
    """Everything a bus subscription delivers within `seconds`."""
    got: list[Event] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            got.append(await asyncio.wait_for(anext(events), timeout=left))
        except asyncio.TimeoutError:
            break
    return got


def wait_until(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def add_agent_sync(database_url: str, username: str, *, role: str = "agent", capacity: int = 3,
                   display_name: str | None = None) -> None:
    """Put an account straight into a running service's database (the bootstrap of a test)."""
    engine = create_engine(normalise_db_url(database_url, sync=True))
    try:
        with engine.begin() as conn:
            conn.execute(insert(Agent.__table__).values(
                username=username, display_name=display_name or username, password_hash=CHEAP_HASHER.hash(PASSWORD),
                role=role, capacity=capacity, skills=[], active=True, created_at=utcnow(),
            ))
    finally:
        engine.dispose()
