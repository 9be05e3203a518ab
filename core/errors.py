"""JSON errors with a stable `code` and a Chinese `message` fit to show a citizen or an agent."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def error_body(code: str, message: str, **extra: object) -> dict:
    return {"code": code, "message": message, **extra}


def _describe(errors: list[dict]) -> list[dict]:
    # Only field locations and error types go back: echoing input could reflect untrusted text.
    return [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "type": e.get("type", "")} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, **exc.extra), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        body = error_body("invalid_request", "请求内容不符合要求，请检查后重试。", errors=_describe(exc.errors()))
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "请求无法处理。"))
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body("internal_error", "系统繁忙，请稍后再试。"), status_code=500)
