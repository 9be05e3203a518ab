"""The figures to watch through the real app: liveness and readiness apart, Prometheus metrics with
route templates and the domain's counters, a request id on every response and in JSON log lines with the
conversation id (personal numbers masked there too), and the Grafana dashboard naming only real series."""
from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core.db import make_engine, make_sessionmaker
from core.logmask import configure_logging
from core.settings import Settings, normalise_db_url
from server.app import create_app
from server.probes import readyz
from server.stack import free_port
from tests.conftest import ROOT
from tests.corpus import write_seed

DASHBOARD = ROOT / "deploy" / "grafana" / "hpf-service.json"


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("observability")
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = Settings(data_dir=root, index_dir=root / "index", knowledge_dir=write_seed(root / "seed"),
                        rasa_url=nowhere, action_server_url=nowhere, metrics_token="scrape-token-0123456789")
    with TestClient(create_app(settings)) as client:
        yield client


def scrape(client: TestClient) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_liveness_and_readiness_are_apart(client):
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")  # Rasa is down here: readiness does not need it
    assert ready.json()["checks"]["database"] is True
    assert ready.status_code == (200 if ready.json()["checks"]["index"] else 503)


async def test_readiness_fails_clearly_without_a_database():
    engine = make_engine(normalise_db_url(f"postgresql://nobody@127.0.0.1:{free_port()}/nothing"))
    try:
        response = await readyz(make_sessionmaker(engine), kb=None)
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert json.loads(response.body) == {"status": "not_ready", "checks": {"database": False, "index": False}}


def test_metrics_count_turns_decisions_and_requests_by_route(client):
    before = scrape(client)
    token = client.post("/api/v1/app/session", json={}).json()["token"]
    sent = client.post("/api/v1/app/messages", headers={"Authorization": f"Bearer {token}"},
                       json={"text": "公积金贷款利率是多少", "client_msg_id": uuid.uuid4().hex})
    assert sent.status_code == 200
    after = scrape(client)
    assert value(after, "hpf_turns_total", channel="app") == value(before, "hpf_turns_total", channel="app") + 1
    decisions = {k: v for k, v in after.items() if k[0] == "hpf_answer_decisions_total"}
    assert sum(decisions.values()) >= sum(v for k, v in before.items() if k[0] == "hpf_answer_decisions_total") + 1
    route = {"method": "POST", "route": "/api/v1/app/messages", "status": "200"}
    assert value(after, "hpf_http_requests_total", **route) == value(before, "hpf_http_requests_total", **route) + 1
    # By template, never by path: a conversation id in a path must not make a series of its own.
    assert not any("conversation" in dict(k[1]).get("route", "") and re.search(r"[0-9a-f]{32}", dict(k[1])["route"])
                   for k in after)


def test_the_task_queue_depth_is_asked_of_this_instances_queue_at_each_scrape(client, monkeypatch):
    """Campaign work waiting in the queue shows on /metrics as it is when scraped (the workers may be
    idle or busy: the storage's own count is made to say 7, then 0)."""
    from callout.queue import CalloutQueue
    from core.services import services_of

    storage = services_of(client.app).get(CalloutQueue).huey.storage
    monkeypatch.setattr(storage, "queue_size", lambda: 7)
    assert value(scrape(client), "hpf_task_queue_depth") == 7
    monkeypatch.setattr(storage, "queue_size", lambda: 0)
    assert value(scrape(client), "hpf_task_queue_depth") == 0


def test_metrics_need_the_token_when_one_is_set(client):
    assert client.get("/metrics").json()["code"] == "metrics_unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_every_response_carries_a_request_id(client):
    given = client.get("/livez", headers={"X-Request-ID": "lb-1234-abcd"})
    assert given.headers["x-request-id"] == "lb-1234-abcd"  # nginx's id travels on
    made = client.get("/livez", headers={"X-Request-ID": "bad id with spaces\n"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])


def test_json_logs_carry_request_and_conversation_ids_and_mask_numbers(client, capsys):
    root = logging.getLogger()
    saved = root.handlers[:]
    try:
        configure_logging(fmt="json")
        token = client.post("/api/v1/app/session", json={}).json()["token"]
        client.post("/api/v1/app/messages", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-json-1"},
                    json={"text": "hello", "client_msg_id": uuid.uuid4().hex})
        logging.getLogger("conversations.hub").warning("我的身份证130402199001011234，手机13812345678")
    finally:
        root.handlers[:] = saved  # the capture's stream closes after this test
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == "req-json-1"]
    assert mine and all(line.get("conversation_id") for line in mine if line["logger"] == "conversations.hub")
    masked = next(line for line in lines if "身份证" in line["message"])
    assert "130402199001011234" not in masked["message"] and "13812345678" not in masked["message"]
    assert {"time", "level", "logger", "message"} <= set(masked)


def defined_families() -> set[str]:
    """Every metric the service defines (a labelled one shows in a scrape only once it has a sample)."""
    return {family.name for family in REGISTRY.collect() if family.name.startswith("hpf_")}


def test_the_dashboard_names_only_series_the_service_defines():
    dashboard = json.loads(Path(DASHBOARD).read_text(encoding="utf-8"))
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"\bhpf_[a-z_]+", target["expr"])}
    families = {re.sub(r"_(total|bucket|sum|count)$", "", name) for name in used}
    assert families and families <= defined_families(), families - defined_families()
    # Each figure the operators asked for has a panel.
    assert {"hpf_turns", "hpf_answer_decisions", "hpf_handoff_wait_seconds", "hpf_grab_seconds",
            "hpf_wechat_deadline_misses", "hpf_calls", "hpf_task_queue_depth", "hpf_index_build_seconds"} <= families
