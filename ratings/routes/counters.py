"""Counter windows (supervisors and admins): create, list, change (staff member, department, active,
reissue), each window's QR code as SVG and its printable sheet. Every change is audited."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.pages import page_headers
from ratings import counter_page, counters, departments
from ratings.context import Ratings
from ratings.deps import RatingsDep
from ratings.models import CounterWindow
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, Supervisor

router = APIRouter(prefix="/api/v1/ratings/counters", tags=["ratings: counter windows"])
pages = APIRouter(tags=["ratings: counter windows"])  # the supervisors' page, outside the API prefix
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

WINDOW = r"^[A-Za-z0-9]{1,16}$"
OFFICE = r"^[a-z][a-z0-9_-]{0,31}$"
READ_ERRORS = (SIGNED_IN_ERRORS, ROLE_ERRORS)
CHANGE_ERRORS = (SIGNED_IN_ERRORS, CSRF_ERRORS, ROLE_ERRORS, INVALID_REQUEST)
NOT_FOUND = {404: ("counter_not_found",)}


class SVG(Response):
    media_type = "image/svg+xml"


class CounterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    office: str = Field(pattern=OFFICE, description="an office's code in ratings/departments.yml")
    window: str = Field(pattern=WINDOW, description="the number on the window")
    agent_id: int | None = Field(None, ge=1, description="the staff member serving there, if one")
    department: str | None = Field(None, max_length=64, description="who puts its bad ratings right (the office)")


class CounterChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: int | None = Field(None, ge=1, description="a new staff member (null: nobody named); voids old codes")
    department: str | None = Field(None, max_length=64)
    active: bool | None = Field(None, description="false: the window's code stops working")
    reissue: bool = Field(False, description="true: a new code; every one printed before stops working")


class CounterOut(BaseModel):
    id: int
    code: str
    office: str
    office_name: str
    window: str
    department: str
    agent_id: int | None
    staff_name: str | None = Field(description="the staff member's display name, as the citizen sees it")
    active: bool
    token_version: int
    url: str = Field(description="what the QR code encodes: the rating page with the signed token")


class CountersOut(BaseModel):
    counters: list[CounterOut]


class OfficeOut(BaseModel):
    code: str
    name: str


class OfficesOut(BaseModel):
    offices: list[OfficeOut] = Field(description="the offices of ratings/departments.yml, in its order")
    departments: list[str] = Field(description="every department a window may answer to")


async def _out(ratings: Ratings, session: AsyncSession, window: CounterWindow) -> dict:
    view = await counters.view(session, window)
    return {
        "id": window.id, "code": window.code, "office": window.office, "office_name": view.office_name,
        "window": window.window, "department": window.department, "agent_id": window.agent_id,
        "staff_name": view.staff_name, "active": window.active, "token_version": window.token_version,
        "url": counters.rating_url(ratings.settings, window),
    }


async def _window(session: AsyncSession, window_id: int) -> CounterWindow:
    window = await session.get(CounterWindow, window_id)
    if window is None:
        raise ApiError(404, "counter_not_found", "窗口不存在。")
    return window


@router.post("", status_code=201, response_model=CounterOut, summary="Add a counter window with its QR code",
             responses=error_responses(*CHANGE_ERRORS, counters.ADMIN_ERRORS))
async def create_counter(body: CounterIn, me: Supervisor, ratings: RatingsDep) -> dict:
    async with ratings.sessions() as session:
        window = await counters.create(session, me.actor, office=body.office, window=body.window,
                                       agent_id=body.agent_id, department=body.department, now=ratings.clock.now())
        return await _out(ratings, session, window)


@router.get("", response_model=CountersOut, summary="The counter windows, by office",
            responses=error_responses(*READ_ERRORS, INVALID_REQUEST))
async def list_counters(me: Supervisor, ratings: RatingsDep,
                        office: str | None = Query(None, pattern=OFFICE)) -> dict:
    async with ratings.sessions() as session:
        return {"counters": [await _out(ratings, session, w) for w in await counters.listing(session, office)]}


@router.get("/offices", response_model=OfficesOut, summary="The offices windows belong to, and the departments",
            responses=error_responses(*READ_ERRORS))
async def list_offices(me: Supervisor) -> dict:
    known = departments.load()
    return {"offices": [{"code": o.code, "name": o.name} for o in known.offices], "departments": list(known.names)}


@router.patch("/{window_id}", response_model=CounterOut,
              summary="Change a window: staff member, department, active (false deactivates), reissue its code",
              responses=error_responses(*CHANGE_ERRORS, counters.ADMIN_ERRORS))
async def change_counter(window_id: int, body: CounterChange, me: Supervisor, ratings: RatingsDep) -> dict:
    async with ratings.sessions() as session:
        window = await counters.change(session, me.actor, window_id, body.model_dump(exclude_unset=True),
                                       ratings.clock.now())
        return await _out(ratings, session, window)


@router.get("/{window_id}/qr.svg", response_class=SVG, summary="The window's QR code (SVG)",
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}},
                       **error_responses(*READ_ERRORS, INVALID_REQUEST, NOT_FOUND, route_answers_json=False)})
async def counter_qr(window_id: int, me: Supervisor, ratings: RatingsDep) -> Response:
    async with ratings.sessions() as session:
        window = await _window(session, window_id)
    return SVG(counter_page.qr_svg(counters.rating_url(ratings.settings, window)),
               headers={"Cache-Control": "no-store"})


@router.get("/{window_id}/print", response_class=HTMLResponse,
            summary="A printable sheet: the window's name, its staff member's display name and the QR code",
            responses=error_responses(*READ_ERRORS, INVALID_REQUEST, NOT_FOUND, route_answers_json=False))
async def counter_sheet(window_id: int, me: Supervisor, ratings: RatingsDep) -> HTMLResponse:
    async with ratings.sessions() as session:
        window = await _window(session, window_id)
        view = await counters.view(session, window)
    body = counter_page.print_sheet(centre=ratings.settings.centre_name, view=view,
                                    url=counters.rating_url(ratings.settings, window))
    return HTMLResponse(body, headers=page_headers(cache="no-store"))


@pages.get("/console/counters", response_class=FileResponse, include_in_schema=False)
async def counters_page() -> FileResponse:
    """The supervisors' page: add windows, print their codes, change who serves, reissue, close."""
    return FileResponse(STATIC_DIR / "counters.html", headers=page_headers())


@pages.get("/ratings/static/{name}", response_class=FileResponse, include_in_schema=False)
async def counters_asset(name: Literal["counters.js", "counters.css"]) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/javascript" if name.endswith(".js") else "text/css",
                        headers={"Cache-Control": "no-cache"})
