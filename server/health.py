"""`GET /healthz`: 200 only when the service, database, Rasa, the action server and the index are ready."""
from __future__ import annotations

from typing import Any, Literal

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.deps import BotDep
from core.deps import SessionsDep, SettingsDep
from core.errors import error_responses
from knowledge.deps import LoadedKBDep

router = APIRouter(tags=["health"])


class Checks(BaseModel):
    service: bool
    database: bool
    rasa: bool
    action_server: bool
    index: bool


class IndexSummary(BaseModel):
    """From the served build's manifest (null where a build made by an older release lacks the key)."""

    encoder: str | None
    articles: int | None
    chunks: int | None
    index_type: str | None
    index_params: dict[str, Any] | None
    learned_ranker: bool | None
    scope_model: dict[str, Any] | None
    built_at: str | None


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: Checks
    index: IndexSummary | None = None  # only while an index is served


async def database_ok(sessions: async_sessionmaker[AsyncSession]) -> bool:
    try:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def _action_server_ok(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            return (await client.get(f"{url.rstrip('/')}/health")).status_code == 200
    except httpx.HTTPError:
        return False


@router.get("/healthz", response_model=Health, responses={
    **error_responses(), 503: {"model": Health, "description": "Service Unavailable: some check failed"},
})
async def healthz(sessions: SessionsDep, bot: BotDep, settings: SettingsDep, kb: LoadedKBDep) -> JSONResponse:
    if kb is not None:
        kb.reload_if_changed()
    checks = {
        "service": True,
        "database": await database_ok(sessions),
        "rasa": await bot.status(),
        "action_server": await _action_server_ok(settings.action_server_url),
        "index": bool(kb and kb.ready),
    }
    ready = all(checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", "checks": checks}
    if kb is not None and kb.ready:
        manifest = kb.index.manifest
        keys = ("encoder", "articles", "chunks", "index_type", "index_params", "learned_ranker", "scope_model",
                "built_at")
        body["index"] = {k: manifest.get(k) for k in keys}
    return JSONResponse(body, status_code=200 if ready else 503)
