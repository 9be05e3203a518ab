"""Limits on what the public may send: the size of a request body, and how often one citizen or one
address may call the citizen endpoints.

The size limit is an ASGI middleware, so an oversized body is refused before any route parses it; the
routes that take uploads are named once (`UPLOAD_PATHS` in server/app.py) and get a larger cap.
The rate limit counts in a fixed window per key, in process by default and in Redis when REDIS_URL is
set, so several service instances share one count per citizen and per address."""
from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import ApiError, ErrorCodes

if TYPE_CHECKING:
    from core.settings import Settings

TOO_LARGE: ErrorCodes = {413: ("too_large",)}
RATE_LIMITED: ErrorCodes = {429: ("rate_limited",)}
RATE_LIMITED_MESSAGE = "操作过于频繁，请稍后再试。"

log = logging.getLogger(__name__)


class RateLimited(ApiError):
    """429 with the seconds to wait, sent as Retry-After (the error handler copies `headers`)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(429, "rate_limited", RATE_LIMITED_MESSAGE, retry_after_s=retry_after_s)
        self.headers = {"Retry-After": str(retry_after_s)}


# ---------------------------------------------------------------- request size


class BodySizeLimit:
    """Refuses a request whose body passes its cap with 413 `too_large`, without reading the rest: by its
    Content-Length when it declares one, else by counting the chunks as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int, upload_paths: Iterable[str]) -> None:
        self.app, self.max_bytes, self.upload_max_bytes = app, max_bytes, upload_max_bytes
        self.upload_paths = tuple(re.compile(pattern) for pattern in upload_paths)

    def cap_for(self, path: str) -> int:
        return self.upload_max_bytes if any(p.fullmatch(path) for p in self.upload_paths) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > cap
            except ValueError:
                too_large = False  # the server itself refuses a malformed length
            if too_large:
                await _refuse(send)
                return
        seen = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    # Answered here, before the route sees the body; to the route the client has gone, and
                    # whatever it answers to that is dropped below.
                    refused = True
                    await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def watching_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, watching_send)


async def _refuse(send: Send) -> None:
    body = json.dumps({"code": "too_large", "message": "请求内容过大。"}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------- rate


class Counter(Protocol):
    async def hit(self, key: str, window_s: int, now: float) -> tuple[int, float]:
        """Counts one call for `key` in the current window; returns the count so far and the window's end."""


class LocalCounter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, key: str, window_s: int, now: float) -> tuple[int, float]:
        async with self._lock:
            end, count = self._windows.get(key, (0.0, 0))
            if now >= end:
                end, count = (math.floor(now / window_s) + 1) * window_s, 0
                if len(self._windows) > 100_000:  # keys of past windows are dropped, so memory stays bounded
                    self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            self._windows[key] = (end, count + 1)
            return count + 1, end


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    async def hit(self, key: str, window_s: int, now: float) -> tuple[int, float]:
        # The window's number is part of the key, so every instance counts into the same one.
        window = math.floor(now / window_s)
        name = f"hpf:rate:{key}:{window}"
        from redis.exceptions import RedisError

        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_s + 1)
                count, _ = await pipe.execute()
        except RedisError as exc:  # the limiter knows only the builtin kind
            raise ConnectionError(str(exc)) from exc
        return int(count), (window + 1) * window_s

    async def close(self) -> None:
        await self._redis.aclose()


@dataclass(frozen=True)
class Limit:
    count: int
    window_s: int


class RateLimiter:
    """Limits per name ("app_messages:citizen", "link_pages:address") from the settings; 0 turns one off."""

    def __init__(self, limits: dict[str, Limit], counter: Counter, clock: Callable[[], float] = time.time) -> None:
        self.limits, self.counter, self.clock = limits, counter, clock

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float] = time.time) -> RateLimiter:
        window = settings.rate_limit_window_s
        limits = {
            "citizen": Limit(settings.rate_limit_citizen, window),
            "address": Limit(settings.rate_limit_address, window),
            "session": Limit(settings.rate_limit_sessions, window),
            "counter": Limit(settings.rating_counter_limit, window),  # 好差评 counter pages, per address
        }
        counter: Counter = RedisCounter(settings.redis_url) if settings.redis_url else LocalCounter()
        return cls(limits, counter, clock)

    async def check(self, kind: str, endpoint: str, who: str) -> None:
        """Counts a call and raises RateLimited past the limit (the call is not to be carried out)."""
        limit = self.limits.get(kind)
        if limit is None or limit.count <= 0 or not who:
            return
        now = self.clock()
        try:
            count, end = await self.counter.hit(f"{endpoint}:{kind}:{who}", limit.window_s, now)
        except (OSError, ConnectionError, TimeoutError) as exc:
            # Redis is away: the limit is a guard, not the service; citizens are served meanwhile.
            log.warning("rate limit %s not counted (%s)", kind, type(exc).__name__)
            return
        if count > limit.count:
            raise RateLimited(max(1, math.ceil(end - now)))

    async def close(self) -> None:
        if isinstance(self.counter, RedisCounter):
            await self.counter.close()


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else ""


def limiter_of(connection: HTTPConnection) -> RateLimiter:
    """The app's limiter; an app assembled without one (a test's small app) gets one from its settings."""
    state: Any = connection.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        from core.services import services_of
        from core.settings import Settings

        limiter = state.rate_limiter = RateLimiter.from_settings(services_of(connection).get(Settings))
    return limiter


LimiterDep = Annotated[RateLimiter, Depends(limiter_of)]


def by_address(endpoint: str, kind: str = "address") -> Callable[..., Any]:
    """A route dependency: the caller's address may call `endpoint` the configured times per window."""

    async def check(connection: HTTPConnection) -> None:
        await limiter_of(connection).check(kind, endpoint, client_address(connection))

    return check


def by_path_param(endpoint: str, param: str) -> Callable[..., Any]:
    """A route dependency counting per value of a path parameter (a personal link's token: its citizen)."""

    async def check(connection: HTTPConnection) -> None:
        await limiter_of(connection).check("citizen", endpoint, str(connection.path_params.get(param, "")))

    return check
