"""`WS /ws/console`: live events for a console page, so the pool needs no polling.

Sent: `hello` (me, duty, pool, my conversations), pool changes (only while on duty, or to supervisors),
work pushed or transferred to me, duty changes, supervisor alerts, and the messages of every conversation
I hold or watch, with `citizen_typing` while its citizen types. Received: `watch`/`unwatch` a conversation
(read-only view), `typing` (the holder types: the citizen's page and app show it), `ping`.
The socket counts as presence: while it is open the agent is not "gone" for the duty check.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import anyio
import anyio.abc
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from agent_console import conversations, duty, events, pool
from agent_console.context import Console, ConsoleDep
from agent_console.models import Handoff, HandoffState, ShiftState
from conversations.events import AgentTyping, CitizenTyping, NewMessage
from conversations.hub import conversation_topic
from conversations.models import Conversation
from core.errors import ApiError
from core.events import Event
from staff import auth
from staff.auth import Me
from staff.models import Role

log = logging.getLogger(__name__)
router = APIRouter(tags=["console: live"])
HEARTBEAT_S = 15
MAX_FRAME = 4096
TYPING_EVERY_S = 2.0  # an agent's typing is passed on at most this often per conversation


def _same_origin(websocket: WebSocket) -> bool:
    """A cookie rides along on cross-site WebSocket handshakes too: only our own pages may use it.
    Host names are compared without ports, since a proxy may pass on the host without one."""
    origin, host = websocket.headers.get("origin"), websocket.headers.get("host")
    return bool(origin and host) and urlsplit(origin).hostname == urlsplit(f"//{host}").hostname


@router.websocket("/ws/console")
async def console_socket(websocket: WebSocket, console: ConsoleDep) -> None:
    token, from_cookie = auth.token_of(websocket)
    if from_cookie and not _same_origin(websocket):
        await websocket.close(code=4403, reason="cross-origin")
        return
    try:
        me, _ = await auth.authenticate(console, token, auth.client_ip(websocket))
    except ApiError as error:
        await websocket.close(code=4401, reason=error.code)
        return
    await websocket.accept()
    await LiveConsole(console, websocket, me, token).run()


class LiveConsole:
    def __init__(self, console: Console, websocket: WebSocket, me: Me, token: str | None) -> None:
        self._console, self._ws, self._me, self._token = console, websocket, me, token
        self._outbox: asyncio.Queue[dict] = asyncio.Queue()
        self._following: dict[str, anyio.CancelScope] = {}
        self._on_duty = False
        self._typed_at: dict[str, float] = {}
        self._tasks: anyio.abc.TaskGroup | None = None

    @property
    def _group(self) -> anyio.abc.TaskGroup:
        if self._tasks is None:
            raise RuntimeError("the live console's tasks run only inside run()")
        return self._tasks

    @property
    def _sees_pool(self) -> bool:
        return self._on_duty or self._me.can(Role.SUPERVISOR)

    async def run(self) -> None:
        topics = [events.POOL, events.agent_topic(self._me.id)]
        if self._me.can(Role.SUPERVISOR):
            topics.append(events.SUPERVISORS)
        # One task group: when any part ends (the page closed, the login expired), everything stops.
        async with self._console.bus.subscribe(*topics) as bus_events, anyio.create_task_group() as tasks:
            self._tasks = tasks
            await self._hello()  # after subscribing: nothing that happens meanwhile is missed
            for part in (self._write, self._heartbeat, self._read):
                tasks.start_soon(self._until_done, part)
            tasks.start_soon(self._until_done, lambda: self._relay(bus_events))

    async def _until_done(self, part) -> None:
        await part()
        self._group.cancel_scope.cancel()

    async def _hello(self) -> None:
        async with self._console.sessions() as session:
            shift = await duty.open_shift(session, self._me.id)
            self._on_duty = shift is not None and shift.state == ShiftState.ON_DUTY
            waiting = await pool.waiting_items(session) if self._sees_pool else []
            tickets = await pool.open_tickets(session) if self._sees_pool else []
        mine = await conversations.mine(self._console, self._me)
        for item in mine:
            self._follow(item["conversation_id"])
        self._outbox.put_nowait({
            "type": "hello", "agent": {"id": self._me.id, "display_name": self._me.display_name, "role": self._me.role},
            "duty": duty.shift_dict(shift), "pool": waiting, "tickets": tickets, "mine": mine,
        })

    async def _write(self) -> None:
        while True:
            await self._ws.send_json(await self._outbox.get())

    async def _relay(self, bus_events: AsyncIterator[Event]) -> None:
        async for event in bus_events:
            if event.topic == events.POOL and not self._sees_pool:
                continue  # off duty or on a break: nothing arrives
            if isinstance(event, events.DutyChanged) and event.topic != events.SUPERVISORS:
                self._on_duty = event.state == ShiftState.ON_DUTY
                if self._on_duty:
                    await self._send_pool()
            elif isinstance(event, events.Assigned):
                self._follow(event.conversation_id)
            elif isinstance(event, events.Released):
                self._unfollow(event.conversation_id)
            self._outbox.put_nowait(event.to_wire())

    async def _send_pool(self) -> None:
        async with self._console.sessions() as session:
            self._outbox.put_nowait({"type": "pool.snapshot", "pool": await pool.waiting_items(session),
                                     "tickets": await pool.open_tickets(session)})

    async def _heartbeat(self) -> None:
        """Re-check the login (it may expire or be ended) and keep the agent present for the duty check."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await auth.authenticate(self._console, self._token, None)
            except ApiError as error:
                self._outbox.put_nowait({"type": "session_expired", "code": error.code, "message": error.message})
                await asyncio.sleep(0.2)
                await self._ws.close(code=4401)
                return

    async def _read(self) -> None:
        try:
            while True:
                await self._handle(await self._ws.receive_text())
        except (WebSocketDisconnect, RuntimeError):
            return  # the page went away: the task group stops the rest

    async def _handle(self, raw: str) -> None:
        try:
            frame = json.loads(raw) if len(raw) <= MAX_FRAME else None
        except ValueError:
            return  # a malformed frame is ignored, not fatal
        if not isinstance(frame, dict):
            return
        kind, conversation_id = frame.get("type"), frame.get("conversation_id")
        if kind == "ping":
            self._outbox.put_nowait({"type": "pong"})
        elif kind == "watch" and isinstance(conversation_id, str) and await self._may_watch(conversation_id):
            self._follow(conversation_id)
        elif kind == "unwatch" and isinstance(conversation_id, str) and not await self._holds(conversation_id):
            self._unfollow(conversation_id)
        elif kind == "typing" and isinstance(conversation_id, str):
            await self._typing(conversation_id)

    async def _typing(self, conversation_id: str) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._typed_at.get(conversation_id, -TYPING_EVERY_S) < TYPING_EVERY_S:
            return
        self._typed_at[conversation_id] = now
        if await self._holds(conversation_id):  # a supervisor watching read-only types nothing to citizens
            await self._console.bus.publish(conversation_topic(conversation_id),
                                            AgentTyping(agent_name=self._me.display_name))

    async def _holds(self, conversation_id: str) -> bool:
        async with self._console.sessions() as session:
            agent_id = await session.scalar(
                select(Handoff.agent_id)
                .where(Handoff.open_key == conversation_id, Handoff.state == HandoffState.ASSIGNED)
            )
        return agent_id == self._me.id

    async def _may_watch(self, conversation_id: str) -> bool:
        async with self._console.sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            return conversation is not None and await conversations.may_read(session, self._me, conversation)

    def _follow(self, conversation_id: str) -> None:
        if conversation_id not in self._following:
            scope = self._following[conversation_id] = anyio.CancelScope()
            self._group.start_soon(self._follow_messages, conversation_id, scope)

    def _unfollow(self, conversation_id: str) -> None:
        if (scope := self._following.pop(conversation_id, None)) is not None:
            scope.cancel()

    async def _follow_messages(self, conversation_id: str, scope: anyio.CancelScope) -> None:
        with scope:
            async with self._console.bus.subscribe(conversation_topic(conversation_id)) as conversation_events:
                async for event in conversation_events:
                    if isinstance(event, NewMessage):
                        self._typed_at.pop(conversation_id, None)  # after a reply, typing is news again
                        self._outbox.put_nowait(
                            {"type": "message", "conversation_id": conversation_id, "message": event.message}
                        )
                    elif isinstance(event, CitizenTyping):
                        self._outbox.put_nowait({"type": "citizen_typing", "conversation_id": conversation_id})
