"""The production topology (server/topology.py) started once for the fault-injection tests: its own
PostgreSQL and Redis, two Rasa servers, the action server, two service instances, workers, nginx; and
WeChat's side of the account (fakes/wechat.py), which posts citizens' messages and takes pushed answers."""
from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.wechat import FakeWeChat
from server.topology import Topology
from tests.conftest import ensure_model


@pytest.fixture(scope="session")
def wechat() -> Iterator[FakeWeChat]:
    with FakeWeChat(token="topology-wechat-token", appid="wx00topology0000", secret="topology-wechat-secret") as fake:
        yield fake


@pytest.fixture(scope="session")
def topology(wechat: FakeWeChat) -> Iterator[Topology]:
    ensure_model()
    # Not under pytest's folder: PostgreSQL runs as its own user, which must reach its data.
    root = Path(tempfile.mkdtemp(prefix="hpf-topology-"))
    root.chmod(0o755)
    topology = Topology(root, extra_env={
        "WECHAT_TOKEN": wechat.token, "WECHAT_MODE": "plain", "WECHAT_APPID": wechat.appid,
        "WECHAT_SECRET": wechat.secret, "WECHAT_API_BASE": wechat.api_base})
    try:
        topology.start(timeout=600)
    except Exception:
        sys.stderr.write(topology.tail_logs())
        topology.stop()
        raise
    yield topology
    topology.stop()
    shutil.rmtree(root, ignore_errors=True)
