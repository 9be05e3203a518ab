"""The app backend's push endpoint on 127.0.0.1: checks our signature (X-Hpf-Timestamp, X-Hpf-Signature)
as the backend would, records each push, and fails on demand (`fail_with`: an HTTP status to answer)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from callout.push import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, verify
from fakes.rasa import ThreadServer
from server.stack import free_port


@dataclass
class FakeAppPush(ThreadServer):
    secret: str = "app-push-secret"
    port: int = field(default_factory=free_port)
    pushes: list[dict] = field(default_factory=list)
    forged: int = 0
    fail_with: int | None = None  # answer this status instead of accepting
    unknown_users: set[str] = field(default_factory=set)  # 404 for these, as a backend that lacks them

    @property
    def push_url(self) -> str:
        return f"{self.url}/push"

    def routes(self) -> list[Route]:
        return [Route("/push", self._push, methods=["POST"])]

    async def _push(self, request: Request) -> JSONResponse:
        body = await request.body()
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not verify(self.secret, stamp, given, body, time.time()):
            self.forged += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        if self.fail_with is not None:
            return JSONResponse({"error": "failing on purpose"}, status_code=self.fail_with)
        push = json.loads(body)
        if push.get("user_id") in self.unknown_users:
            return JSONResponse({"error": "unknown user"}, status_code=404)
        self.pushes.append(push)
        return JSONResponse({"ok": True})

    def receipt(self, push: dict, status: str = "delivered") -> tuple[bytes, dict[str, str]]:
        """The signed receipt the backend posts once the app has shown `push`: (body, headers)."""
        body = json.dumps({"push_id": push["push_id"], "status": status}).encode()
        stamp = str(int(time.time()))
        return body, {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                      SIGNATURE_HEADER: signature(self.secret, stamp, body)}
