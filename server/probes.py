"""Probes for the process manager and the load balancer, apart from the full health report (/healthz):

- `GET /livez`: the process answers (restart it if not). Nothing else is checked: a database outage
  must not make every instance restart at once.
- `GET /readyz`: this instance can serve citizens now: its database answers and its knowledge index is
  loaded (nginx and the process manager take it out of rotation otherwise). Rasa is not required:
  without it the knowledge base and the pool still answer (see conversations.hub).
- `GET /metrics`: the Prometheus figures (core.metrics), optionally behind `METRICS_TOKEN`.
"""
from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from core.deps import SessionsDep, SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.metrics import exposition
from knowledge.deps import LoadedKBDep
from server.health import database_ok

router = APIRouter(tags=["health"])


class Live(BaseModel):
    status: Literal["ok"]


class ReadyChecks(BaseModel):
    database: bool
    index: bool


class Ready(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: ReadyChecks


@router.get("/livez", response_model=Live, summary="Liveness: the process answers", responses=error_responses())
async def livez() -> dict:
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, summary="Readiness: database and knowledge index ready", responses={
    **error_responses(), 503: {"model": Ready, "description": "not ready: take this instance out of rotation"},
})
async def readyz(sessions: SessionsDep, kb: LoadedKBDep) -> JSONResponse:
    checks = {"database": await database_ok(sessions), "index": bool(kb is not None and kb.ready)}
    ready = all(checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, summary="Prometheus figures of this instance",
            responses={200: {"content": {"text/plain": {}}},
                       **error_responses(INVALID_REQUEST, {401: ("metrics_unauthorized",)})})
async def metrics(settings: SettingsDep, authorization: Annotated[str | None, Header(max_length=512)] = None,
                  ) -> Response:
    token = settings.metrics_token.get_secret_value()
    if token and not hmac.compare_digest(authorization or "", f"Bearer {token}"):
        raise ApiError(401, "metrics_unauthorized", "需要监控令牌。")
    body, content_type = exposition()
    return Response(body, media_type=content_type)
