"""The wall view (/console/wall): every department live on one large screen, for supervisors: the queue
(agent_console's pool and roster), today's ratings per department, ratings as they arrive (a server-sent
event stream from the bus topic `ratings`) and the rectification cases past due."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field

from agent_console import stats
from core.errors import error_responses
from core.events import Event
from core.pages import page_headers
from ratings import analysis
from ratings.context import Ratings
from ratings.deps import RatingsDep
from ratings.events import TOPIC, RatingNew
from ratings.routes.analysis import FiguresOut, today_of
from staff.auth import ROLE_ERRORS, SIGNED_IN_ERRORS, Supervisor

router = APIRouter(tags=["ratings: wall view"])
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
HEADERS = page_headers()
HEARTBEAT_S = 15.0
# A stream ends after this long and the page's EventSource reconnects, which checks the login again:
# an expired or ended login stops receiving within this time.
STREAM_S = 300.0
BACKLOG = 200  # events waiting for a slow screen beyond this are dropped (the page refetches the figures)


class WallRating(BaseModel):
    id: int
    level: int
    level_label: str
    channel: str
    channel_label: str
    business: str
    department: str
    at: datetime
    bot: bool


class WallCase(BaseModel):
    id: int
    department: str
    due_at: datetime
    escalation: int
    level: int
    level_label: str
    channel: str
    channel_label: str
    business: str


class WallQueue(BaseModel):
    pool_length: int = Field(description="citizens waiting for an agent")
    longest_wait_s: int
    agents_on_duty: int
    service_level: dict[str, Any]


class WallOut(BaseModel):
    at: datetime
    queue: WallQueue
    today: list[FiguresOut] = Field(description="today's ratings per department")
    recent: list[WallRating] = Field(description="the latest ratings, newest first (no personal data)")
    overdue: list[WallCase] = Field(description="open rectification cases past due, the oldest first")
    overdue_total: int



@router.get("/api/v1/console/ratings/wall", response_model=WallOut,
            summary="The wall view: the queue, today's ratings per department, the latest ratings, overdue cases",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def wall(me: Supervisor, ratings: RatingsDep) -> dict[str, Any]:
    now = ratings.clock.now()
    today = today_of(now)
    start = datetime.combine(today, time(), analysis.LOCAL)
    async with ratings.sessions() as session:
        live = await stats.live(session, ratings.settings.console_service_level_s, start)
        rows = await analysis.figures(session, ratings.settings, analysis.Window.days(today, today), by="department")
        recent = await analysis.recent(session, ratings.settings, limit=20)
        overdue = await analysis.overdue_cases(session, ratings.settings, now=now, limit=30)
        overdue_total = await analysis.overdue_count(session, now=now)
    return {
        "at": now,
        "queue": {"pool_length": live["pool_length"], "longest_wait_s": live["longest_wait_s"],
                  "agents_on_duty": len(live["agents"]), "service_level": live["service_level"]},
        "today": analysis.scored(rows, ratings.settings), "recent": recent, "overdue": overdue,
        "overdue_total": overdue_total,
    }


def _wire(event: RatingNew, ratings: Ratings) -> dict[str, Any]:
    """The arrival as the wall shows it: levels and places, never the agent, the citizen or a comment."""
    return {"id": event.rating_id, "level": event.level, "level_label": analysis.level_label(event.level),
            "channel": event.channel, "channel_label": analysis.CHANNELS.get(event.channel, event.channel),
            "business": analysis.business_label(event.business, ratings.settings),
            "department": event.department or analysis.UNNAMED, "bot": event.agent_id is None,
            "at": ratings.clock.now().isoformat()}


async def _pump(events: AsyncIterator[Event], queue: asyncio.Queue[Event]) -> None:
    async for event in events:
        if queue.full():
            continue
        queue.put_nowait(event)


async def _stream(request: Request, ratings: Ratings) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_S
    queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=BACKLOG)
    async with ratings.bus.subscribe(TOPIC) as events:
        pump = asyncio.create_task(_pump(events, queue))
        try:
            yield "retry: 3000\n\n"
            while loop.time() < ends and not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), min(HEARTBEAT_S, max(0.0, ends - loop.time())))
                except TimeoutError:
                    yield ": ping\n\n"  # keeps proxies from closing a quiet stream
                    continue
                if isinstance(event, RatingNew):
                    yield f"event: rating\ndata: {json.dumps(_wire(event, ratings), ensure_ascii=False)}\n\n"
        finally:
            pump.cancel()


@router.get("/api/v1/console/ratings/live", response_class=StreamingResponse,
            summary="Ratings as they arrive (text/event-stream, event `rating`), for the wall view",
            responses={200: {"content": {"text/event-stream": {}}, "description": "the stream"},
                       **error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS, route_answers_json=False)})
async def live(request: Request, me: Supervisor, ratings: RatingsDep) -> StreamingResponse:
    return StreamingResponse(_stream(request, ratings), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/console/wall", response_class=FileResponse, include_in_schema=False)
async def wall_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "wall.html", headers=HEADERS)
