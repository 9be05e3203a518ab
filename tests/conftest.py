"""Fixtures shared by every test: database URLs, free ports, and the live system (real Rasa,
real action server, real service) started once per test session."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT_BIN = ROOT / ".venv-bot" / "bin"
MODEL = ROOT / "bot" / "models" / "hpf.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None, ok=(200,)) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", HF_HUB_OFFLINE="1", **extra
    )
    return env


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with scripts/test.sh (make test), which starts the servers")
    return value


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return required_env("TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return required_env("TEST_REDIS_URL")


@dataclass
class Processes:
    procs: list[subprocess.Popen]
    logs: list[Path]

    def start(self, args: list[str], log: Path, cwd: Path = ROOT, env: dict | None = None) -> subprocess.Popen:
        handle = open(log, "wb")
        proc = subprocess.Popen(args, cwd=cwd, env=env or base_env(), stdout=handle, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@dataclass
class LiveSystem:
    base_url: str
    rasa_url: str
    action_url: str
    data_dir: Path
    logs: list[Path]


def ensure_model() -> None:
    if not MODEL.exists():
        subprocess.run([str(ROOT / "scripts" / "train.sh")], check=True, env=base_env())


@pytest.fixture(scope="session")
def live_service(tmp_path_factory) -> Iterator[LiveSystem]:
    """The real system: `rasa run actions`, `rasa run` with the trained model, and the service."""
    ensure_model()
    data_dir = tmp_path_factory.mktemp("live")
    ports = {name: free_port() for name in ("service", "rasa", "actions")}
    service_url = f"http://127.0.0.1:{ports['service']}"
    rasa_url = f"http://127.0.0.1:{ports['rasa']}"
    action_url = f"http://127.0.0.1:{ports['actions']}"
    env = base_env(
        HPF_SERVICE_URL=service_url,
        ACTION_ENDPOINT_URL=f"{action_url}/webhook",
        ACTION_SERVER_URL=action_url,
        RASA_URL=rasa_url,
        PORT=str(ports["service"]),
        DATA_DIR=str(data_dir),
    )
    procs = Processes([], [])
    try:
        actions = procs.start(
            [str(BOT_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(ports["actions"])],
            data_dir / "actions.log",
            cwd=ROOT / "bot",
            env=env,
        )
        rasa = procs.start(
            [str(BOT_BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(ports["rasa"]),
             "-m", str(MODEL), "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml"],
            data_dir / "rasa.log",
            env=env,
        )
        service = procs.start([sys.executable, "-m", "core"], data_dir / "service.log", env=env)
        wait_http(f"{action_url}/health", 90, actions)
        wait_http(f"{rasa_url}/status", 180, rasa)
        wait_http(f"{service_url}/healthz", 120, service)
        yield LiveSystem(service_url, rasa_url, action_url, data_dir, procs.logs)
    except Exception:
        for log in procs.logs:
            sys.stderr.write(f"---- {log.name}\n{log.read_text(errors='replace')[-4000:]}\n")
        raise
    finally:
        procs.stop()


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Path:
    """A copy-friendly temporary folder (articles, parameters) for index tests."""
    shutil.copytree(ROOT / "knowledge" / "params", tmp_path / "params")
    return tmp_path


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory):
    """The real articles indexed once per session with the shipped encoder."""
    from core.settings import Settings
    from knowledge.encoders import make_encoder
    from knowledge.ingest import ensure_index
    from knowledge.search import KnowledgeBase
    from knowledge.tokenize import shared_tokenizer

    settings = Settings(data_dir=tmp_path_factory.mktemp("kb"))
    ensure_index(settings, force=True, progress=None)
    encoder = make_encoder(settings.embedding_model)
    return KnowledgeBase(settings.index_dir, encoder, shared_tokenizer(settings.dictionary_dir))
