"""Local stand-ins that speak a real protocol on 127.0.0.1, for faults the real part won't produce
on demand (a Rasa server that is slow, down or returns nothing)."""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.stack import free_port


class ThreadServer:
    """A Starlette app served by uvicorn on 127.0.0.1 in a thread; subclasses list its routes."""

    port: int

    def routes(self) -> list[Route]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self._server = uvicorn.Server(
            uvicorn.Config(Starlette(routes=self.routes()), host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class FakeRasa(ThreadServer):
    """Rasa's REST webhook: echoes "收到：<text>" after `delay` seconds; records what it received."""

    delay: float = 0.0
    received: list[dict] = field(default_factory=list)
    events: list[tuple[str, dict]] = field(default_factory=list)
    # GET …/tracker answers only for the conversations a test puts here (others 404, as before).
    trackers: dict[str, dict] = field(default_factory=dict)
    port: int = field(default_factory=free_port)

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.received.append(body)
        await asyncio.sleep(self.delay)
        return JSONResponse([{"recipient_id": body["sender"], "text": f"收到：{body['message']}"}])

    async def _events(self, request: Request) -> JSONResponse:
        self.events.append((request.path_params["sender"], await request.json()))
        return JSONResponse({"ok": True})

    async def _status(self, _: Request) -> JSONResponse:
        return JSONResponse({"model_file": "fake.tar.gz"})

    async def _tracker(self, request: Request) -> JSONResponse:
        tracker = self.trackers.get(request.path_params["sender"])
        return JSONResponse(tracker) if tracker is not None else JSONResponse({"error": "not set"}, status_code=404)

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]),
            Route("/conversations/{sender}/tracker/events", self._events, methods=["POST"]),
            Route("/conversations/{sender}/tracker", self._tracker),
            Route("/status", self._status),
        ]
