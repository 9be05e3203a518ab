"""What the browser tests share beside their fixtures: a service on a free port in a thread."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp


@contextmanager
def served(app: ASGIApp, port: int, *, start_s: float = 60, poll_s: float = 0.1) -> Iterator[str]:
    """`app` answering on 127.0.0.1:`port` (uvicorn in a thread) until the block ends; yields its address.
    `start_s` is how long its start may take (the whole service's first start builds the knowledge index)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_s
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(poll_s)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
