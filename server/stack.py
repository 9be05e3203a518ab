"""Starting and stopping the three processes of the system: the action server, Rasa and the service.

Used by `make run` (`python -m server.stack`), by the test fixtures and by the benchmarks, so all of
them run the system the same way.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from core.settings import ROOT

BOT_BIN = ROOT / ".venv-bot" / "bin"
MODEL = ROOT / "bot" / "models" / "hpf.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", HF_HUB_OFFLINE="1", **extra
    )
    return env


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process behind {url} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} was not ready within {timeout:.0f}s")


@dataclass
class Stack:
    data_dir: Path
    service_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    log_dir: Path | None = None
    app_api_key: str = ""  # the app backend's key (APP_API_KEY); empty: the environment's or none
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.service_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def logs(self) -> dict[str, Path]:
        folder = self.log_dir or self.data_dir / "logs"
        return {name: folder / f"{name}.log" for name in ("actions", "rasa", "service")}

    def env(self) -> dict[str, str]:
        return quiet_env(
            HPF_SERVICE_URL=self.base_url,
            ACTION_SERVER_URL=self.actions_url,
            RASA_URL=self.rasa_url,
            PORT=str(self.service_port),
            DATA_DIR=str(self.data_dir),
            **({"APP_API_KEY": self.app_api_key} if self.app_api_key else {}),
            **self.extra_env,
        )

    def start(self, *, service: bool = True, timeout: float = 240) -> None:
        """Start the processes and wait until each answers its health check."""
        if not MODEL.exists():
            raise FileNotFoundError(f"{MODEL} is missing: run scripts/train.sh first")
        next(iter(self.logs.values())).parent.mkdir(parents=True, exist_ok=True)
        rasa = BOT_BIN / "rasa"
        actions = [rasa, "run", "actions", "--actions", "actions", "--port", self.actions_port]
        self._spawn("actions", actions, cwd=ROOT / "bot")
        self._spawn(
            "rasa",
            [rasa, "run", "--enable-api", "-i", "127.0.0.1", "-p", self.rasa_port, "-m", MODEL,
             "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml"],
        )
        if service:
            self._spawn("service", [sys.executable, "-m", "server"])
        wait_http(f"{self.actions_url}/health", timeout, self.processes["actions"])
        wait_http(f"{self.rasa_url}/status", timeout, self.processes["rasa"])
        if service:
            wait_http(f"{self.base_url}/healthz", timeout, self.processes["service"])

    def _spawn(self, name: str, args: list, cwd: Path = ROOT) -> None:
        log = open(self.logs[name], "ab")
        self.processes[name] = subprocess.Popen(
            [str(a) for a in args], cwd=cwd, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us once; we stop the children in order
        )

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def tail_logs(self, chars: int = 4000) -> str:
        present = ((name, path) for name, path in self.logs.items() if path.exists())
        return "\n".join(f"---- {name}\n{path.read_text(errors='replace')[-chars:]}" for name, path in present)


def main() -> int:
    from core.settings import get_settings

    argparse.ArgumentParser(prog="python -m server.stack", description=__doc__.split("\n")[0]).parse_args()
    settings = get_settings()
    stack = Stack(
        data_dir=settings.data_dir,
        service_port=settings.port,
        rasa_port=int(os.environ.get("RASA_PORT", 5005)),
        actions_port=int(os.environ.get("ACTIONS_PORT", 5055)),
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(f"==> starting the action server, Rasa and the service (logs in {stack.logs['service'].parent})",
              file=sys.stderr, flush=True)
        stack.start()
        print(f"\n住房公积金智能客服已启动：{stack.base_url}   （Ctrl-C 停止）\nAPI 文档：{stack.base_url}/api/docs",
              flush=True)
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        print("error: a process stopped unexpectedly\n" + stack.tail_logs(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (TimeoutError, RuntimeError, FileNotFoundError) as exc:
        print(f"error: {exc}\n{stack.tail_logs()}", file=sys.stderr)
        return 1
    finally:
        print("==> stopping", file=sys.stderr)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
