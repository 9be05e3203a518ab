"""Two service processes on one PostgreSQL database, with Redis between them, as in production:
50 agents grab the same conversation at once through the API, 100 times, and each time exactly one
wins; a handoff made on one process reaches a console connected to the other within a second."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import websockets
from sqlalchemy import create_engine, text

from core.db import migrate
from core.settings import ROOT, normalise_db_url
from server.stack import free_port, quiet_env, wait_http
from tests.agent_console.helpers import PASSWORD, add_agent_sync
from tests.credentials import APP_API_KEY, APP_HEADERS, BOT_API_KEY, BOT_HEADERS
from tests.databases import reset_postgres

pytestmark = pytest.mark.postgres

AGENTS = 50
ROUNDS = 100


@pytest.fixture(scope="module")
def services(suite_postgres_url, redis_url, console_index_dir, tmp_path_factory) -> Iterator[list[str]]:
    reset_postgres(suite_postgres_url)
    migrate(suite_postgres_url)
    for i in range(AGENTS):
        add_agent_sync(suite_postgres_url, f"grabber-{i:02d}", capacity=3)
    data_dir = tmp_path_factory.mktemp("two-services")
    processes, urls = [], []
    for n in range(2):
        port = free_port()
        env = quiet_env(
            DATABASE_URL=suite_postgres_url, REDIS_URL=redis_url, DATA_DIR=str(data_dir / f"p{n}"),
            INDEX_DIR=str(console_index_dir), PORT=str(port), RASA_URL=f"http://127.0.0.1:{free_port()}",
            BOT_TIMEOUT_S="0.5", APP_API_KEY=APP_API_KEY, BOT_API_KEY=BOT_API_KEY, CONSOLE_TICK_S="0.5", CONSOLE_ESCALATE_AFTER_S="3600", CONSOLE_DUTY_IDLE_MINUTES="60",
        )
        log = open(data_dir / f"service-{n}.log", "wb")
        processes.append(subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log,
                                          stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, process in zip(urls, processes, strict=True):
            wait_http(f"{url}/api/v1/service/agents", 240, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def log_in(client: httpx.AsyncClient, url: str, username: str) -> dict:
    response = await client.post(f"{url}/api/v1/console/login", json={"username": username, "password": PASSWORD})
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    (await client.post(f"{url}/api/v1/console/duty", json={"minutes": 60}, headers=headers)).raise_for_status()
    return headers


async def waiting_conversation(client: httpx.AsyncClient, url: str) -> str:
    user = f"p-{uuid.uuid4().hex[:12]}"
    opened = await client.get(f"{url}/api/v1/app/messages", params={"user_id": user}, headers=APP_HEADERS)
    conversation_id = opened.json()["conversation_id"]
    handoff = await client.post(f"{url}/api/v1/handoff", json={"conversation_id": conversation_id,
                                                               "reason": "citizen_request"}, headers=BOT_HEADERS)
    assert handoff.json()["outcome"] == "queued", handoff.text
    return conversation_id


async def test_fifty_agents_grab_at_once_on_two_processes_and_one_wins_every_time(services, suite_postgres_url):
    # Idle connections are dropped by the client before uvicorn's 5-second keep-alive can close one just
    # as a slow round reuses it (that race reads as "server disconnected", not as a lost grab).
    limits = httpx.Limits(max_connections=AGENTS + 10, keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        agents = await asyncio.gather(*(log_in(client, services[i % 2], f"grabber-{i:02d}") for i in range(AGENTS)))

        async def grab(i: int, conversation_id: str) -> int:
            url = services[i % 2]
            response = await client.post(f"{url}/api/v1/console/conversations/{conversation_id}/claim",
                                         headers=agents[i])
            assert response.status_code == 200 or response.json()["code"] == "already_taken", response.text
            return response.status_code

        conversations = []
        for round_ in range(ROUNDS):
            conversation_id = await waiting_conversation(client, services[round_ % 2])
            results = await asyncio.gather(*(grab(i, conversation_id) for i in range(AGENTS)))
            assert results.count(200) == 1, f"round {round_}: {results.count(200)} winners"
            assert results.count(409) == AGENTS - 1
            winner = results.index(200)
            finished = await client.post(f"{services[winner % 2]}/api/v1/console/conversations/{conversation_id}/finish",
                                         headers=agents[winner])
            assert finished.status_code == 200, finished.text
            conversations.append(conversation_id)

    engine = create_engine(normalise_db_url(suite_postgres_url, sync=True))
    with engine.connect() as conn:
        per_conversation = dict(conn.execute(text(
            "SELECT conversation_id, count(*) FROM assignments GROUP BY conversation_id"
        )).all())
        grabs = conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'grab'")).scalar()
    engine.dispose()
    assert all(per_conversation[c] == 1 for c in conversations) and grabs == ROUNDS


async def test_a_handoff_on_one_process_reaches_a_console_on_the_other_within_a_second(services):
    async with httpx.AsyncClient(timeout=30) as client:
        headers = await log_in(client, services[0], "grabber-00")
        socket_url = services[1].replace("http://", "ws://") + "/ws/console"
        async with websockets.connect(socket_url, additional_headers=headers) as console:
            hello = json.loads(await asyncio.wait_for(console.recv(), timeout=10))
            assert hello["type"] == "hello"
            await asyncio.sleep(0.2)  # Redis confirms subscriptions asynchronously
            started = time.monotonic()
            conversation_id = await waiting_conversation(client, services[0])
            while True:
                event = json.loads(await asyncio.wait_for(console.recv(), timeout=1.0))
                if event["type"] == "pool.added" and event["item"]["conversation_id"] == conversation_id:
                    break
            assert time.monotonic() - started < 1.0
