"""`GET /healthz`: 200 only when the service, database, Rasa, the action server and the index are ready."""
from __future__ import annotations

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


async def _database_ok(request: Request) -> bool:
    try:
        async with request.app.state.sessionmaker() as session:
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


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    state = request.app.state
    kb = getattr(state, "knowledge", None)
    if kb is not None:
        kb.reload_if_changed()
    checks = {
        "service": True,
        "database": await _database_ok(request),
        "rasa": await state.bot.status(),
        "action_server": await _action_server_ok(state.settings.action_server_url),
        "index": bool(kb and kb.ready),
    }
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if kb is not None and kb.ready:
        manifest = kb.index.manifest
        keys = ("encoder", "articles", "chunks", "index_type", "index_params", "learned_ranker", "scope_model",
                "built_at")
        body["index"] = {k: manifest.get(k) for k in keys}
    return JSONResponse(body, status_code=200 if ready else 503)
