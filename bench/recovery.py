"""Recovery time for each fault on the production topology (server/topology.py): how long after the fault
until every client is served again.

    scripts/bench.sh recovery [--clients 4]

Citizens on the app (each message retried with its id until confirmed, as the app does) and on the web
page (its socket; a dropped socket is opened again with the page's cursor and the unconfirmed message
sent again) ask questions through nginx without pause. Each fault is injected while they ask; a client
is served again when a question it sent after the fault is answered. The recovery time is the longest
of the clients' waits. The faults are the fault suite's (tests/topology/): `kill -9` of one service
instance (and, restarted, the time until it is ready again), `kill -9` of one Rasa server, Redis killed
(and restarted), PostgreSQL stopped at once and started (measured from its start), every Rasa server
stopped. Figures depend on this machine's load: compare the faults of one run, not runs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect

from server.topology import Topology

QUESTIONS = ["公积金提取需要什么材料", "公积金贷款利率是多少", "离职以后公积金怎么处理", "怎么查公积金余额"]


class Client(threading.Thread):
    """One citizen asking without pause; `answered` holds when each of its questions was sent and when
    it was answered."""

    def __init__(self, topology: Topology, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.topology, self.stop = topology, stop
        self.answered: list[tuple[float, float]] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            sent = time.monotonic()
            if self.ask(QUESTIONS[n % len(QUESTIONS)], uuid.uuid4().hex):
                self.answered.append((sent, time.monotonic()))
            n += 1

    def ask(self, text: str, client_msg_id: str) -> bool:
        raise NotImplementedError

    def served_after(self, moment: float) -> float | None:
        """Seconds from `moment` until a question sent after it was answered (None: not yet)."""
        ends = [end for sent, end in self.answered if sent >= moment]
        return min(ends) - moment if ends else None


class AppCitizen(Client):
    def __init__(self, topology: Topology, stop: threading.Event) -> None:
        super().__init__(topology, stop)
        self.user = f"recovery-{uuid.uuid4().hex[:8]}"

    def ask(self, text: str, client_msg_id: str) -> bool:
        while not self.stop.is_set():
            try:
                response = httpx.post(f"{self.topology.base_url}/api/v1/app/messages", timeout=30,
                                      headers={"X-Api-Key": self.topology.secrets["APP_API_KEY"]},
                                      json={"user_id": self.user, "text": text, "client_msg_id": client_msg_id})
                if response.status_code == 200 and response.json()["replies"]:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        return False


class WebCitizen(Client):
    def __init__(self, topology: Topology, stop: threading.Event) -> None:
        super().__init__(topology, stop)
        self.token = ""
        self.after = 0
        self.question_id = 0  # the stored id of the question being asked, once a frame showed it

    def ask(self, text: str, client_msg_id: str) -> bool:
        self.question_id = 0
        while not self.stop.is_set():
            try:
                if not self.token:
                    session = httpx.post(f"{self.topology.base_url}/api/v1/web/session", json={}, timeout=30)
                    self.token = session.raise_for_status().json()["visitor_token"]
                if self._over_socket(text, client_msg_id):
                    return True
            except (OSError, WebSocketException, httpx.HTTPError, ValueError, KeyError):
                pass  # the socket dropped or the service answered an error: the page tries again
            time.sleep(0.3)
        return False

    def _over_socket(self, text: str, client_msg_id: str) -> bool:
        url = self.topology.base_url.replace("http", "ws", 1) + f"/ws/chat?token={self.token}&after={self.after}"
        with connect(url, open_timeout=10, close_timeout=1) as socket:
            frames = [json.loads(socket.recv(timeout=30))["history"]]  # hello: what came since the cursor
            socket.send(json.dumps({"type": "message", "text": text, "client_msg_id": client_msg_id}))
            deadline = time.monotonic() + 30
            while not self.stop.is_set() and time.monotonic() < deadline:
                for message in frames.pop():
                    if self._answers(message, client_msg_id):
                        return True
                frame = json.loads(socket.recv(timeout=30))
                if frame.get("type") in ("error", "resync"):  # resync: the page reconnects to read what it missed
                    return False
                frames.append([frame["message"]] if frame.get("type") == "message" else [])
        return False

    def _answers(self, message: dict, client_msg_id: str) -> bool:
        """Moves the page's cursor past `message`; whether it answers the question sent as `client_msg_id`
        (whose stored id is kept from the attempt that first saw it: a later socket's cursor is past it)."""
        self.after = max(self.after, message["id"])
        payload = message["payload"] or {}
        if payload.get("client_msg_id") == client_msg_id:
            self.question_id = message["id"]
        return message["direction"] == "out" and payload.get("in_reply_to") == self.question_id > 0


def recovery(clients: list[Client], fault: Callable[[], float], timeout_s: float = 180) -> float | None:
    """Injects the fault (which returns the moment to measure from) and waits until every client has been
    served again; the longest wait in seconds (None: some client was not served within `timeout_s`)."""
    moment = fault()
    deadline = moment + timeout_s
    while time.monotonic() < deadline:
        waits = [client.served_after(moment) for client in clients]
        if all(wait is not None for wait in waits):
            return max(w for w in waits if w is not None)
        time.sleep(0.1)
    return None


def run_faults(topology: Topology, clients: list[Client]) -> list[tuple[str, float | None]]:
    figures: list[tuple[str, float | None]] = []

    def kill(name: str) -> Callable[[], float]:
        def fault() -> float:
            topology.kill(name)
            return time.monotonic()
        return fault

    def measure(label: str, fault: Callable[[], float]) -> None:
        seconds = recovery(clients, fault)
        figures.append((label, seconds))
        print(f"{label:58} {'not served' if seconds is None else f'{seconds:6.1f} s'}", flush=True)
        time.sleep(3)  # every client in its stride again before the next fault

    def restarted(name: str) -> Callable[[], float]:
        def fault() -> float:
            moment = time.monotonic()
            topology.start_process(name)
            topology.wait_ready(name, 600)
            figures.append((f"{name} ready again after its start", time.monotonic() - moment))
            print(f"{figures[-1][0]:58} {figures[-1][1]:6.1f} s", flush=True)
            return time.monotonic()
        return fault

    def postgres_down_and_up() -> float:
        topology.stop_postgres(mode="immediate")
        time.sleep(5)
        topology.start_postgres()
        return time.monotonic()

    def every_rasa_down() -> float:
        topology.kill("rasa-1")
        topology.kill("rasa-2")
        return time.monotonic()

    for name in ("service-1", "service-2"):
        measure(f"kill -9 {name}", kill(name))
        measure(f"{name} restarted", restarted(name))
    measure("kill -9 rasa-1", kill("rasa-1"))
    measure("rasa-1 restarted", restarted("rasa-1"))
    measure("Redis killed", kill("redis"))
    measure("Redis started again", lambda: (topology.start_process("redis"), time.monotonic())[1])
    measure("PostgreSQL stopped 5 s, measured from its start", postgres_down_and_up)
    measure("every Rasa server killed (knowledge base answers)", every_rasa_down)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="app citizens, and as many on the web page")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hpf-recovery-"))
    root.chmod(0o755)
    topology = Topology(root, extra_env={"RATE_LIMIT_CITIZEN": "0"})  # they ask without pause
    stop = threading.Event()
    try:
        print(f"==> starting the topology in {root}", flush=True)
        topology.start(timeout=900)
        clients: list[Client] = [*(AppCitizen(topology, stop) for _ in range(options.clients)),
                                 *(WebCitizen(topology, stop) for _ in range(options.clients))]
        for client in clients:
            client.start()
        time.sleep(10)  # every client answered at least once before the first fault
        assert all(client.answered for client in clients), "a client was never answered before any fault"
        print(f"\n{len(clients)} citizens ({options.clients} app, {options.clients} web) asking without pause\n")
        print(f"{'fault':58} {'every client served again after':>8}")
        figures = run_faults(topology, clients)
        return 1 if any(seconds is None for _, seconds in figures) else 0
    finally:
        stop.set()
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
