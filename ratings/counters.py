"""好差评 at the counter: the centre's counter windows, the signed QR code printed for each, and the visits
that rate them.

A window's QR code opens `/rate/c/<token>`; the token signs the window, its staff member and the window's
`token_version`, so it cannot be guessed from an id, and changing the staff member or reissuing the code
voids every copy printed before. Opening the page issues a visit: a short-lived signed token with a
nonce of its own, whose rating is the event `counter:<window>:<nonce>`: one rating per visit.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import signing
from core.errors import ApiError, ErrorCodes
from core.settings import Settings
from ratings import departments, record
from ratings.context import Ratings
from ratings.models import CounterWindow, EventKind, Rating
from staff import audit
from staff.models import Agent

CHANNEL = "counter"
WINDOW_PURPOSE = "ratings-counter-window"
VISIT_PURPOSE = "ratings-counter-visit"
PAGE_PATH = "/rate/c/"
TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,160}")  # what we issue; anything else is refused before any check
STAFF_FALLBACK = "窗口工作人员"  # shown when the staff member has no display name: never the login name

TOKEN_INVALID_MESSAGE = "二维码无效或已停用，请扫描窗口现在张贴的评价二维码。"
VISIT_EXPIRED_MESSAGE = "评价页面已过期，请重新扫描窗口的评价二维码。"
REFUSALS: ErrorCodes = {403: ("counter_token_invalid",), 410: ("counter_visit_expired",)}
ADMIN_ERRORS: ErrorCodes = {
    404: ("counter_not_found",), 409: ("counter_exists",),
    422: ("unknown_office", "unknown_department", "unknown_agent"),
}


@dataclass(frozen=True)
class Visit:
    window: CounterWindow
    nonce: str

    @property
    def event_key(self) -> str:
        return f"counter:{self.window.code}:{self.nonce}"


def _invalid() -> ApiError:
    return ApiError(403, "counter_token_invalid", TOKEN_INVALID_MESSAGE)


# -- tokens -------------------------------------------------------------------------------------------

def _secret(settings: Settings) -> str:
    return settings.session_secret.get_secret_value()


def _bound(window: CounterWindow) -> str:
    """What a token binds: the window, who serves there and which printing of the code."""
    return f"{window.id}.{window.agent_id or 0}.{window.token_version}"


def window_token(settings: Settings, window: CounterWindow) -> str:
    return signing.sign(_secret(settings), WINDOW_PURPOSE, _bound(window))


def rating_url(settings: Settings, window: CounterWindow) -> str:
    """The address the window's QR code encodes (absolute under PUBLIC_BASE_URL, which phones must reach)."""
    return f"{settings.public_base_url.rstrip('/')}{PAGE_PATH}{window_token(settings, window)}"


async def _window_bound(session: AsyncSession, value: str | None, parts: int) -> tuple[CounterWindow, list[str]]:
    """The active window a signed value names, if it still names its current staff member and printing."""
    fields = value.split(".") if value else []
    if len(fields) != parts or not fields[0].isdigit():
        raise _invalid()
    window = await session.get(CounterWindow, int(fields[0]))
    if window is None or not window.active or ".".join(fields[:3]) != _bound(window):
        raise _invalid()
    return window, fields


async def window_of(session: AsyncSession, settings: Settings, token: str) -> CounterWindow:
    """The window of a QR code's token; 403 `counter_token_invalid` when forged, altered, reissued or the
    window is closed."""
    if not TOKEN.fullmatch(token):
        raise _invalid()
    window, _ = await _window_bound(session, signing.unsign(_secret(settings), WINDOW_PURPOSE, token), 3)
    return window


def visit_token(settings: Settings, window: CounterWindow, now: datetime) -> str:
    """A new visit of `window`, valid RATING_COUNTER_VISIT_MINUTES from `now`."""
    until = int((now + timedelta(minutes=settings.rating_counter_visit_minutes)).timestamp())
    nonce = secrets.token_hex(8)
    return signing.sign(_secret(settings), VISIT_PURPOSE, f"{_bound(window)}.{nonce}.{until}")


async def visit_of(session: AsyncSession, settings: Settings, token: str, now: datetime) -> Visit:
    if not TOKEN.fullmatch(token):
        raise _invalid()
    window, fields = await _window_bound(session, signing.unsign(_secret(settings), VISIT_PURPOSE, token), 5)
    nonce, until = fields[3], fields[4]
    if not until.isdigit():
        raise _invalid()
    if now.timestamp() > int(until):
        raise ApiError(410, "counter_visit_expired", VISIT_EXPIRED_MESSAGE)
    return Visit(window=window, nonce=nonce)


# -- rating -------------------------------------------------------------------------------------------

async def rate(ratings: Ratings, session: AsyncSession, *, visit: str, level: int, reasons: list[str] | None,
               comment: str | None) -> Rating:
    """The visit's one rating (409 `already_rated` for a second), for the window's staff member and
    department. Commits."""
    found = await visit_of(session, ratings.settings, visit, ratings.clock.now())
    window = found.window
    return await record.record_rating(
        ratings, session, event_key=found.event_key, kind=EventKind.COUNTER, channel=CHANNEL, level=level,
        reasons=reasons, comment=comment, department=window.department, agent_id=window.agent_id,
        counter=window.code,
    )


# -- what the page and the console show ----------------------------------------------------------------

@dataclass(frozen=True)
class WindowView:
    window: CounterWindow
    office_name: str
    staff_name: str | None  # the display name; None: nobody named at this window

    @property
    def title(self) -> str:
        return f"{self.office_name} {self.window.window}号窗口"


async def view(session: AsyncSession, window: CounterWindow) -> WindowView:
    office = departments.load().office(window.office)
    staff_name = None
    if window.agent_id is not None:
        agent = await session.get(Agent, window.agent_id)
        staff_name = (agent.display_name if agent else None) or STAFF_FALLBACK
    return WindowView(window=window, office_name=office.name if office else window.office, staff_name=staff_name)


# -- managing windows (supervisors and admins) ------------------------------------------------------------

async def _agent_ok(session: AsyncSession, agent_id: int | None) -> None:
    if agent_id is None:
        return
    agent = await session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise ApiError(422, "unknown_agent", "工作人员不存在或已停用。", field="agent_id")


def _department(office: str, department: str | None) -> str:
    known = departments.load()
    found = known.office(office)
    if found is None:
        codes = "、".join(o.code for o in known.offices)
        raise ApiError(422, "unknown_office", f"没有这个办事处（ratings/departments.yml 的 offices）：{codes}",
                       field="office")
    if department is None:
        return found.name
    if department not in known.names:
        raise ApiError(422, "unknown_department", "部门不在 ratings/departments.yml 中。", field="department")
    return department


async def create(session: AsyncSession, actor: audit.Actor, *, office: str, window: str, agent_id: int | None,
                 department: str | None, now: datetime) -> CounterWindow:
    chosen = _department(office, department)
    await _agent_ok(session, agent_id)
    made = CounterWindow(code=f"{office}-{window}", office=office, window=window, department=chosen,
                         agent_id=agent_id, active=True, token_version=1, created_at=now, updated_at=now)
    session.add(made)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise ApiError(409, "counter_exists", "这个办事处已有同号窗口。") from None
    audit.record(session, actor, "counter_window_create", target=f"counter:{made.code}", agent_id=agent_id,
                 department=chosen)
    await session.commit()
    return made


async def change(session: AsyncSession, actor: audit.Actor, window_id: int, changes: dict[str, object],
                 now: datetime) -> CounterWindow:
    """Staff member, department, active, or a reissued code. A new staff member or a reissue moves the
    token version on: every QR code printed before stops working."""
    window = await session.get(CounterWindow, window_id)
    if window is None:
        raise ApiError(404, "counter_not_found", "窗口不存在。")
    reprint = bool(changes.pop("reissue", False))
    if "agent_id" in changes and changes["agent_id"] != window.agent_id:
        agent_id = changes["agent_id"]
        await _agent_ok(session, agent_id if isinstance(agent_id, int) else None)
        window.agent_id = agent_id if isinstance(agent_id, int) else None
        reprint = True
    if isinstance(changes.get("department"), str):
        window.department = _department(window.office, str(changes["department"]))
    if isinstance(changes.get("active"), bool):
        window.active = bool(changes["active"])
    if reprint:
        window.token_version += 1
    window.updated_at = now
    audit.record(session, actor, "counter_window_change", target=f"counter:{window.code}",
                 agent_id=window.agent_id, active=window.active, token_version=window.token_version,
                 department=window.department)
    await session.commit()
    return window


async def listing(session: AsyncSession, office: str | None = None) -> list[CounterWindow]:
    query = select(CounterWindow).order_by(CounterWindow.office, CounterWindow.window, CounterWindow.id)
    if office:
        query = query.where(CounterWindow.office == office)
    return list(await session.scalars(query))
