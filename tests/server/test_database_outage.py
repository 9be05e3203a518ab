"""PostgreSQL going away under a running service: requests get a clear 503 `database_unavailable` (with
Retry-After) instead of a 500, readiness says so, and everything works again once it is back. The
database is a PostgreSQL server of this test's own (Debian's binaries), so stopping it touches nobody."""
from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from core.settings import Settings, normalise_db_url
from server.app import create_app
from server.stack import free_port
from server.topology import Topology
from tests.corpus import write_seed

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[Topology]:
    # Not under pytest's folder: PostgreSQL runs as its own user, which must reach its data.
    root = Path(tempfile.mkdtemp(prefix="hpf-pg-outage-"))
    root.chmod(0o755)
    topology = Topology(root)
    (root / "logs").mkdir()
    topology.start_postgres()
    yield topology
    topology.stop_postgres()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def client(own_postgres, tmp_path_factory) -> Iterator[TestClient]:
    root = Path(tmp_path_factory.mktemp("pg-outage-service"))
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = Settings(data_dir=root, index_dir=root / "index", knowledge_dir=write_seed(root / "seed"),
                        rasa_url=nowhere, action_server_url=nowhere, database_url=own_postgres.database_url)
    with TestClient(create_app(settings)) as client:
        yield client


def send(client: TestClient, token: str, text: str):
    return client.post("/api/v1/app/messages", headers={"Authorization": f"Bearer {token}"},
                       json={"text": text, "client_msg_id": uuid.uuid4().hex})


def test_a_database_outage_is_a_clear_503_and_recovery_is_complete(client, own_postgres):
    token = client.post("/api/v1/app/session", json={}).json()["token"]
    assert send(client, token, "公积金怎么提取").status_code == 200

    own_postgres.stop_postgres(mode="immediate")  # as a crash would
    try:
        down = send(client, token, "还在吗")
        assert (down.status_code, down.json()["code"]) == (503, "database_unavailable"), down.text
        assert down.headers["retry-after"] == "5" and down.json()["message"]
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
        assert client.get("/livez").status_code == 200  # alive: no reason to restart the process
    finally:
        own_postgres.start_postgres()

    back = send(client, token, "公积金贷款利率")
    assert back.status_code == 200, back.text
    engine = create_engine(normalise_db_url(own_postgres.database_url, sync=True))
    try:
        with engine.connect() as conn:
            texts = list(conn.execute(text("SELECT text FROM messages WHERE direction = 'in'")).scalars())
    finally:
        engine.dispose()
    # Refused, not half-stored (the app sends it again); the others exactly once.
    assert "还在吗" not in texts and texts.count("公积金怎么提取") == 1 and texts.count("公积金贷款利率") == 1
    assert client.get("/readyz").json()["checks"]["database"] is True
