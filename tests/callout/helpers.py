"""Factories for the campaign tests: a frozen clock, staff accounts with logins, the campaign routes
on a small app, and campaign bodies."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from callout.context import Callout
from callout.routes import ROUTERS
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
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


def campaign_app(callout: Callout) -> FastAPI:
    """The campaign routes alone, on the test's database (logins come from `login`)."""
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, callout.settings)
    services.provide(async_sessionmaker, callout.sessions)
    services.provide(Callout, callout)
    for router in ROUTERS:
        app.include_router(router)
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def login(callout: Callout, username: str, role: Role) -> dict[str, str]:
    """A new account of `role` and the bearer header of its login."""
    staff = Staff(settings=callout.settings, sessions=callout.sessions)
    await accounts.create(staff, username=username, password=PASSWORD, role=role, capacity=3,
                          display_name=username, skills=None, actor=SYSTEM)
    _agent, token, _csrf = await auth.login(staff, username, PASSWORD, None)
    return {"Authorization": f"Bearer {token}"}


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
