"""Factories for the campaign tests: a frozen clock, staff accounts with logins, the campaign routes
on a small app, and campaign bodies."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from callout.context import Callout
from callout.dialer import Dialer
from callout.models import Attempt
from callout.routes import ROUTERS
from channels.voice.phone_line import PhoneLine
from conversations.bot_client import RasaClient
from conversations.handoff import HandoffDesk, Handoffs
from conversations.hub import Hub
from core.bus import EventBus, LocalBus
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from fakes.twilio import FakeCall, FakeTwilio
from staff import accounts, auth
from staff.audit import SYSTEM
from staff.context import Staff
from staff.models import Role

LOCAL = ZoneInfo("Asia/Shanghai")
PASSWORD = "secret-pass-1"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment given in the centre's time, as the UTC datetime the code stores."""
    return datetime(year, month, day, hour, minute, second, tzinfo=LOCAL).astimezone(timezone.utc)


@dataclass
class FrozenClock:
    """Time stands still until a test moves it; the dialer's waits move it instead of sleeping."""

    at: datetime
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += timedelta(seconds=seconds)

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def service_app(settings: Settings, sessions: async_sessionmaker, *parts: tuple[type, object],
                routers: Iterable[APIRouter]) -> FastAPI:
    """`routers` on a small app with the service's error answers, the settings, the database and the
    `parts` the routes need (the engine, the hub, the phone line) on its services."""
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, settings)
    services.provide(async_sessionmaker, sessions)
    for kind, part in parts:
        services.provide(kind, part)
    for router in routers:
        app.include_router(router)
    return app


def campaign_app(callout: Callout, *parts: tuple[type, object]) -> FastAPI:
    """The campaign routes on the test's database (logins come from `login`), with any other `parts`
    the test gives (the hub, the phone line)."""
    return service_app(callout.settings, callout.sessions, (Callout, callout), *parts, routers=ROUTERS)


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


class OnDatabase(Protocol):
    """The engine or outreach context of a test: what a staff account is made with."""

    settings: Settings
    sessions: async_sessionmaker


async def staff_login(on: OnDatabase, username: str, role: Role) -> tuple[int, dict[str, str]]:
    """A new account of `role`: its id and the bearer header of its login."""
    staff = Staff(settings=on.settings, sessions=on.sessions)
    agent = await accounts.create(staff, username=username, password=PASSWORD, role=role, capacity=3,
                                  display_name=username, skills=None, actor=SYSTEM)
    _agent, token, _csrf = await auth.login(staff, username, PASSWORD, None)
    return agent.id, {"Authorization": f"Bearer {token}"}


async def login(on: OnDatabase, username: str, role: Role) -> dict[str, str]:
    """A new account of `role` and the bearer header of its login."""
    _id, headers = await staff_login(on, username, role)
    return headers


def people(count: int, start: int = 0, **variables: str) -> list[dict]:
    """`count` recipients with distinct mainland mobiles 139000000xx."""
    return [{"phone": f"1390000{n:04d}", "name": f"市民{n}", **variables} for n in range(start, start + count)]


def campaign_body(recipients: list[dict], **extra: object) -> dict:
    return {
        "name": "逾期还款提醒", "channel": "voice",
        "message": "{name}您好，这里是住房公积金中心，您的公积金贷款本月应还{amount}元尚未扣款，请及时存入。",
        "recipients": recipients, "window": {"start": "09:00", "end": "20:00"},
        "days": ["mon", "tue", "wed", "thu", "fri"], "max_attempts": 3, **extra,
    }


PUBLIC_BASE = "https://hotline.example.gov.cn"
CALLER_ID = "+861088880000"


def phone_settings(twilio: FakeTwilio) -> dict:
    return {"twilio_account_sid": twilio.account_sid, "twilio_auth_token": twilio.auth_token,
            "twilio_api_base": twilio.url, "twilio_caller_id": CALLER_ID, "public_base_url": PUBLIC_BASE}


@dataclass
class RecordingQueue:
    """The task queue as the engine sees it; a test runs what was asked for when it chooses."""

    dispatched: list[tuple[int, datetime | None]] = field(default_factory=list)
    fallbacks: list[int] = field(default_factory=list)

    def dispatch(self, campaign_id: int, eta: datetime | None = None) -> None:
        self.dispatched.append((campaign_id, eta))

    def fallback(self, recipient_id: int) -> None:
        self.fallbacks.append(recipient_id)


@dataclass
class Line:
    """The engine on a phone line: the API, the fake Twilio, the frozen clock, and Twilio's callbacks."""

    callout: Callout
    api: httpx.AsyncClient
    twilio: FakeTwilio
    clock: FrozenClock
    played: set[str] = field(default_factory=set)

    @property
    def dialer(self) -> Dialer:
        return Dialer(self.callout)

    async def post(self, url: str, params: dict[str, str], *, signature: str | None = None) -> httpx.Response:
        """A request as Twilio sends it: form fields signed over the public URL."""
        signed = self.twilio.sign(url, params) if signature is None else signature
        return await self.api.post(url.removeprefix(PUBLIC_BASE), data=params,
                                   headers={"X-Twilio-Signature": signed})

    async def play(self, call: FakeCall) -> list[httpx.Response]:
        """Everything Twilio sends for this call, as its behaviour scripts it."""
        self.played.add(call.sid)
        answers = []
        for url, params in self.twilio.callbacks(call):
            answers.append(await self.post(url, params))
            assert answers[-1].status_code in (200, 204), answers[-1].text
        return answers

    async def play_new(self) -> int:
        fresh = [call for call in self.twilio.calls if call.sid not in self.played]
        for call in fresh:
            await self.play(call)
        return len(fresh)

    async def run_queue(self) -> None:
        """Do what the engine queued: fall-back messages, then one dispatcher run."""
        queue: RecordingQueue = self.callout.queue
        fallbacks, queue.fallbacks[:] = list(queue.fallbacks), []
        for recipient_id in fallbacks:
            await self.dialer.send_fallback(recipient_id)

    async def campaign(self, body: dict, *, preparer: dict, approver: dict) -> int:
        made = await self.api.post("/api/v1/campaigns", json=body, headers=preparer)
        assert made.status_code == 201, made.text
        campaign_id = made.json()["id"]
        assert (await self.api.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=approver)).status_code == 200
        started = await self.api.post(f"/api/v1/campaigns/{campaign_id}/start", headers=preparer)
        assert started.status_code == 200, started.text
        return campaign_id

    async def status(self, campaign_id: int, headers: dict) -> dict:
        return (await self.api.get(f"/api/v1/campaigns/{campaign_id}", headers=headers)).json()


@dataclass
class PhoneStack:
    """A campaign line with the conversation side running: hub (and a Rasa client), bus, phone line."""

    line: Line
    hub: Hub
    bus: LocalBus
    bot: RasaClient

    @property
    def sessions(self) -> async_sessionmaker:
        return self.line.callout.sessions


@asynccontextmanager
async def phone_stack(line: Line, rasa_url: str, desk_for: Callable[[PhoneStack], HandoffDesk]
                      ) -> AsyncIterator[PhoneStack]:
    """The hub, the phone line and the agent desk `desk_for` makes, served with the campaign routes."""
    bus, bot = LocalBus(), RasaClient(rasa_url, timeout_s=2.0)
    sessions = line.callout.sessions
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=2.0)
    stack = PhoneStack(line=line, hub=hub, bus=bus, bot=bot)
    handoffs = Handoffs()
    handoffs.register_desk(desk_for(stack))
    phone = PhoneLine(line.callout.settings, sessions=sessions, bus=bus, hub=hub, handoffs=handoffs)
    try:
        async with client(campaign_app(line.callout, (Hub, hub), (PhoneLine, phone), (EventBus, bus))) as api:
            stack.line = Line(callout=line.callout, api=api, twilio=line.twilio, clock=line.clock)
            yield stack
    finally:
        await phone.watcher.close()
        await bot.close()


async def one_call(line: Line) -> tuple[int, dict[str, str]]:
    preparer = await login(line.callout, "planner", Role.CAMPAIGNER)
    approver = await login(line.callout, "lead", Role.SUPERVISOR)
    body = {"name": "还款提醒", "message": "{name}您好，您本月的公积金贷款还款{amount}元尚未扣款。",
            "voicemail_message": "{name}您好，这里是公积金中心，请留意本月还款。",
            "recipients": people(1, amount="2300"), "window": {"start": "09:00", "end": "20:00"}}
    campaign_id = await line.campaign(body, preparer=preparer, approver=approver)
    await line.dialer.dispatch(campaign_id)
    call = line.twilio.calls[0]
    base = {"CallSid": call.sid, "AccountSid": line.twilio.account_sid, "From": call.params["From"], "To": call.to,
            "CallStatus": "in-progress", "Direction": "outbound-api"}
    return campaign_id, base


def spoken(xml: str) -> list[str]:
    return [say.text or "" for say in ET.fromstring(xml).iter("Say")]


def action(xml: str) -> str:
    return next(ET.fromstring(xml).iter("Gather")).get("action")


async def attempt(line: Line) -> Attempt:
    async with line.callout.sessions() as session:
        return await session.scalar(select(Attempt))
