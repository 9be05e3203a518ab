"""The figures to watch, as Prometheus metrics (the official client), defined once here so every package
records into the same names and `/metrics` exposes them all.

Each service process exposes its own figures; Prometheus scrapes every instance and sums. The names and
labels are the contract of the Grafana dashboard in deploy/grafana/ (a test keeps the two in step).
"""
from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logcontext import request_id

TURNS = Counter("hpf_turns", "Citizen messages received, by channel", ["channel"])
ANSWER_DECISIONS = Counter(
    "hpf_answer_decisions", "How the service answered a citizen message: the bot's decision "
    "(answer, clarify, decline, …), the knowledge base's fallback, a queue for a person", ["decision"])
HANDOFF_WAIT = Histogram(
    "hpf_handoff_wait_seconds", "From the request for a person to the agent taking it (grab or push)", ["how"],
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600))
GRAB_SECONDS = Histogram(
    "hpf_grab_seconds", "Time the service takes to decide a grab (the agent's click to 200 or 409)", ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
WECHAT_DEADLINE_MISSES = Counter(
    "hpf_wechat_deadline_misses", "WeChat answers not ready within the passive reply's deadline (sent by push)")
CALLS = Counter("hpf_calls", "Phone calls by direction and outcome", ["direction", "outcome"])
TASK_QUEUE_DEPTH = Gauge("hpf_task_queue_depth", "Tasks waiting in the task queue (campaigns, reminders)")
INDEX_BUILD_SECONDS = Histogram(
    "hpf_index_build_seconds", "Time to build the knowledge index", buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800))
HTTP_REQUESTS = Counter(
    "hpf_http_requests", "HTTP requests by route template and status", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "hpf_http_request_seconds", "HTTP request duration by route template", ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def watch_queue_depth(depth: Callable[[], float]) -> None:
    """The task queue's owner says how to count it; the gauge asks at each scrape."""
    TASK_QUEUE_DEPTH.set_function(depth)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Counts and times every HTTP request by its route template (never by its path: ids in paths would
    make a series per conversation), and gives each request an id: the caller's `X-Request-ID` when it is
    a sane token (nginx sets one), else a new one; it is in every log line of the request and in the
    response's `X-Request-ID`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)
            request_id.reset(token)
