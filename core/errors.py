"""JSON errors with a stable `code` and a Chinese `message` fit to show a citizen or an agent."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: object) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.extra = status, code, message, extra


_HTTP_MESSAGES = {
    400: ("bad_request", "请求格式不正确。"),
    401: ("unauthorized", "请先登录。"),
    403: ("forbidden", "没有权限执行此操作。"),
    404: ("not_found", "请求的内容不存在。"),
    405: ("method_not_allowed", "不支持该请求方法。"),
    413: ("too_large", "请求内容过大。"),
    415: ("unsupported_media_type", "请求内容类型不受支持。"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试。"),
}


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"code": code, "message": message, **extra}


class ErrorBody(BaseModel):
    """Every error's body. Some errors add context beside the two fields (the field or question at
    fault, a ticket's state, which request fields were wrong), so other keys may appear."""

    model_config = ConfigDict(extra="allow")
    code: str = Field(description="stable: programs decide on it, it is never reworded")
    message: str = Field(description="Chinese, fit to show a citizen or an agent")


ErrorCodes = Mapping[int, Iterable[str]]
# Codes the handlers below give any route: a request that fails its declared shape, an unexpected fault.
INVALID_REQUEST: ErrorCodes = {422: ("invalid_request",)}
INTERNAL_ERROR: ErrorCodes = {500: ("internal_error",)}


def error_responses(*groups: ErrorCodes, route_answers_json: bool = True) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for the OpenAPI document: each error status with the ErrorBody schema and
    the stable codes it can carry, in its description and as `x-error-codes` for programs.
    Every route can fail unexpectedly, so `internal_error` is always among them.

    FastAPI files a response `model` under the route's own media type, so a route that answers XML,
    HTML, text or a redirect passes `route_answers_json=False` and gets the JSON schema spelled out
    (the ErrorBody component itself comes from the JSON routes, which declare the model)."""
    body: dict[str, Any] = (
        {"model": ErrorBody} if route_answers_json
        else {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}}}}
    )
    codes: dict[int, list[str]] = {}
    for group in (*groups, INTERNAL_ERROR):
        for status, names in group.items():
            known = codes.setdefault(status, [])
            known.extend(name for name in names if name not in known)
    return {
        status: {
            **body,
            "description": f"{HTTPStatus(status).phrase}: " + ", ".join(f"`{name}`" for name in names),
            "x-error-codes": names,
        }
        for status, names in sorted(codes.items())
    }


def _describe(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    # Only field locations and error types go back: echoing input could reflect untrusted text.
    return [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "type": e.get("type", "")} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        # An error may carry headers of its own (Retry-After on 429).
        headers: dict[str, str] | None = getattr(exc, "headers", None)
        return JSONResponse(error_body(exc.code, exc.message, **exc.extra), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        body = error_body("invalid_request", "请求内容不符合要求，请检查后重试。", errors=_describe(exc.errors()))
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "请求无法处理。"))
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    # A number past the database's 64-bit integers (SQLite raises OverflowError when binding it, PostgreSQL
    # answers "out of range"), or a text longer than its column on PostgreSQL: the request's fault, so a
    # 422 like any other invalid input rather than a 500, whichever route and parameter carried it.
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        log.info("value out of the database's range on %s %s", request.method, request.url.path)
        body = error_body("invalid_request", "请求中的数字或文字超出了允许的范围，请检查后重试。",
                          errors=[{"field": "", "type": "out_of_range"}])
        return JSONResponse(body, status_code=422)

    # The database is down or restarting: a clear 503 the caller may retry (nothing was stored, or the
    # transaction rolled back), never a 500. The pool's pre-ping reconnects once it is back.
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return JSONResponse(error_body("database_unavailable", "系统正在恢复，请稍后再试。"), status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "系统繁忙，请稍后再试。"), status_code=500)
