"""Agent console benchmarks: grab latency with 50 agents grabbing at once; time from a handoff to the
conversation appearing on 20 connected consoles; the pool API and the console page with 10 and with
1,000 conversations waiting.

    python -m bench.console [--database-url postgresql://…] [--redis-url redis://…] [--processes 2]

Starts its own service process(es) (no Rasa: the pool does not need it); SQLite in a temporary folder
unless --database-url is given (its schema is dropped and recreated: use a scratch database).
Test accounts are written to the database with a cheap Argon2 cost so 50 logins take no minutes.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import websockets
from argon2 import PasswordHasher
from sqlalchemy import create_engine, insert, text

from bench.stats import APP_API_KEY, APP_HEADERS, BOT_API_KEY, BOT_HEADERS, percentile
from core.db import migrate, utcnow
from core.settings import ROOT, Settings, normalise_db_url
from server.stack import free_port, quiet_env, wait_http
from staff.models import Agent

PASSWORD = "bench-pass-1"


def line(label: str, values_ms: list[float]) -> str:
    return (f"{label:<46} p50 {statistics.median(values_ms):8.1f} ms   p99 {percentile(values_ms, 99):8.1f} ms   "
            f"max {max(values_ms):8.1f} ms   n={len(values_ms)}")


# -- set-up ----------------------------------------------------------------------------------------------

def prepare_database(url: str, agents: int) -> None:
    sync_url = normalise_db_url(url, sync=True)
    if sync_url.startswith("postgresql"):
        engine = create_engine(sync_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate(url)
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    engine = create_engine(sync_url)
    with engine.begin() as conn:
        conn.execute(insert(Agent.__table__), [
            {"username": f"bench-{i:02d}", "display_name": f"坐席{i:02d}", "password_hash": cheap, "role": "agent",
             "capacity": 50, "skills": [], "active": True, "created_at": utcnow()}
            for i in range(agents)
        ])
    engine.dispose()


def start_services(url: str, redis_url: str, count: int, data_dir: Path) -> tuple[list[str], list[subprocess.Popen]]:
    urls, processes = [], []
    for n in range(count):
        port = free_port()
        env = quiet_env(
            DATABASE_URL=url, REDIS_URL=redis_url, DATA_DIR=str(data_dir / f"p{n}"), PORT=str(port),
            INDEX_DIR=str(Settings().index_dir),  # the index `make run` uses (built on first start if missing)
            RASA_URL=f"http://127.0.0.1:{free_port()}", CONSOLE_ESCALATE_AFTER_S="86400",
            CONSOLE_DUTY_IDLE_MINUTES="120", CONSOLE_HANDOFF_LIMIT="1000", APP_API_KEY=APP_API_KEY,
            BOT_API_KEY=BOT_API_KEY,
        )
        log = open(data_dir / f"service-{n}.log", "wb")
        processes.append(subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log,
                                          stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    for service_url, process in zip(urls, processes, strict=True):
        wait_http(f"{service_url}/api/v1/service/agents", 600, process)
    return urls, processes


async def log_in(client: httpx.AsyncClient, url: str, username: str) -> dict:
    response = await client.post(f"{url}/api/v1/console/login", json={"username": username, "password": PASSWORD})
    response.raise_for_status()
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    (await client.post(f"{url}/api/v1/console/duty", json={"minutes": 240}, headers=headers)).raise_for_status()
    return headers


async def waiting_conversation(client: httpx.AsyncClient, url: str) -> str:
    opened = await client.get(f"{url}/api/v1/app/messages", params={"user_id": f"b-{uuid.uuid4().hex[:12]}"},
                              headers=APP_HEADERS)
    conversation_id = opened.json()["conversation_id"]
    response = await client.post(f"{url}/api/v1/handoff", json={"conversation_id": conversation_id,
                                                               "reason": "citizen_request"}, headers=BOT_HEADERS)
    if response.json().get("outcome") != "queued":
        raise RuntimeError(f"handoff not queued: {response.text}")
    return conversation_id


# -- the measurements ---------------------------------------------------------------------------------------

async def grab_alone(client, urls, agents, rounds: int) -> None:
    """The same request with nobody competing: what a grab costs by itself on this machine."""
    timings = []
    for round_ in range(rounds):
        url = urls[round_ % len(urls)]
        conversation_id = await waiting_conversation(client, url)
        started = time.perf_counter()
        response = await client.post(f"{url}/api/v1/console/conversations/{conversation_id}/claim", headers=agents[0])
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        await client.post(f"{url}/api/v1/console/conversations/{conversation_id}/finish", headers=agents[0])
    print(line("grab, one agent alone", timings))


async def grab_latency(client, urls, agents, rounds: int) -> None:
    every, winners = [], []
    for round_ in range(rounds):
        conversation_id = await waiting_conversation(client, urls[round_ % len(urls)])

        async def grab(i: int, conversation_id: str = conversation_id) -> tuple[int, float]:
            started = time.perf_counter()
            response = await client.post(f"{urls[i % len(urls)]}/api/v1/console/conversations/{conversation_id}/claim",
                                         headers=agents[i])
            return response.status_code, (time.perf_counter() - started) * 1000

        results = await asyncio.gather(*(grab(i) for i in range(len(agents))))
        codes = [code for code, _ in results]
        if codes.count(200) != 1 or codes.count(409) != len(agents) - 1:
            raise RuntimeError(f"round {round_}: {codes.count(200)} winners, codes {set(codes)}")
        every += [ms for _, ms in results]
        winner = codes.index(200)
        winners.append(results[winner][1])
        await client.post(f"{urls[winner % len(urls)]}/api/v1/console/conversations/{conversation_id}/finish",
                          headers=agents[winner])
    print(line(f"grab, {len(agents)} agents at once (every answer)", every))
    print(line("grab, the winner's answer", winners))
    print(f"{'':<46} exactly one winner in each of {rounds} rounds")


async def console_fanout(client, urls, agents, consoles: int, handoffs: int) -> None:
    seen: dict[str, list[float]] = {}
    ready = asyncio.Event()
    connected = 0

    async def console(i: int) -> None:
        nonlocal connected
        url = urls[i % len(urls)].replace("http://", "ws://") + "/ws/console"
        async with websockets.connect(url, additional_headers=agents[i], max_size=None) as socket:
            json.loads(await socket.recv())  # hello
            connected += 1
            if connected == consoles:
                ready.set()
            while True:
                event = json.loads(await socket.recv())
                if event.get("type") == "pool.added":
                    seen.setdefault(event["item"]["conversation_id"], []).append(time.perf_counter())

    tasks = [asyncio.create_task(console(i)) for i in range(consoles)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(0.5)  # Redis subscriptions confirm asynchronously
    delays: list[float] = []
    for n in range(handoffs):
        started = time.perf_counter()
        conversation_id = await waiting_conversation(client, urls[n % len(urls)])
        deadline = time.perf_counter() + 5
        while len(seen.get(conversation_id, [])) < consoles and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        arrivals = seen.get(conversation_id, [])
        if len(arrivals) < consoles:
            raise RuntimeError(f"only {len(arrivals)} of {consoles} consoles saw the handoff within 5 s")
        delays += [(t - started) * 1000 for t in arrivals]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(line(f"handoff -> shown on {consoles} consoles", delays))
    print(f"{'':<46} p99 under 1 s: {'yes' if percentile(delays, 99) < 1000 else 'NO'}")


async def pool_api(client, url, headers, samples: int = 20) -> list[float]:
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        response = await client.get(f"{url}/api/v1/console/pool", headers=headers)
        response.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def page_render(url: str, username: str, expected: int) -> tuple[float, float]:
    """Seconds from opening the console (logged in, on duty) to all `expected` cards shown, and from a
    new handoff to its card appearing among them."""
    from playwright.sync_api import expect, sync_playwright

    from fakes.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(base_url=url, viewport={"width": 1400, "height": 900}).new_page()
        page.goto("/console")
        page.locator("#login-user").fill(username)
        page.locator("#login-pass").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.locator("#conn")).to_have_attribute("data-state", "online", timeout=30_000)
        started = time.perf_counter()
        page.reload()
        expect(page.locator("#pool-list .card")).to_have_count(expected, timeout=60_000)
        load_s = time.perf_counter() - started

        started = time.perf_counter()
        with httpx.Client(timeout=30, headers=APP_HEADERS) as client:
            opened = client.get(f"{url}/api/v1/app/messages", params={"user_id": f"b-{uuid.uuid4().hex[:12]}"})
            conversation_id = opened.json()["conversation_id"]
            client.post(f"{url}/api/v1/handoff", json={"conversation_id": conversation_id, "reason": "citizen_request"},
                        headers=BOT_HEADERS)
        expect(page.locator(f'#pool-list [data-conversation="{conversation_id}"]')).to_have_count(1, timeout=30_000)
        event_s = time.perf_counter() - started
        browser.close()
    return load_s, event_s


async def fill_pool(client, url, count: int) -> None:
    semaphore = asyncio.Semaphore(16)

    async def one() -> None:
        async with semaphore:
            await waiting_conversation(client, url)

    await asyncio.gather(*(one() for _ in range(count)))


async def drain_pool(client, url, headers) -> None:
    """Take every waiting conversation and hand it back, so the next measurement starts from empty."""
    pool = (await client.get(f"{url}/api/v1/console/pool", headers=headers)).json()["waiting"]
    for item in pool:
        await client.post(f"{url}/api/v1/console/conversations/{item['conversation_id']}/claim", headers=headers)
        await client.post(f"{url}/api/v1/console/conversations/{item['conversation_id']}/finish", headers=headers)


async def run(args: argparse.Namespace, urls: list[str]) -> None:
    # Idle connections close on our side before uvicorn's 5-second keep-alive races a reuse.
    limits = httpx.Limits(max_connections=args.agents + 20, keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        agents = await asyncio.gather(
            *(log_in(client, urls[i % len(urls)], f"bench-{i:02d}") for i in range(args.agents))
        )
        await grab_alone(client, urls, agents, args.rounds)
        await grab_latency(client, urls, agents, args.rounds)
        await console_fanout(client, urls, agents, args.consoles, args.handoffs)
        await drain_pool(client, urls[0], agents[0])
        small, large = 10, args.waiting
        await fill_pool(client, urls[0], small)
        small_api = await pool_api(client, urls[0], agents[1])
        small_page = await asyncio.to_thread(page_render, urls[0], "bench-02", small)
        await fill_pool(client, urls[0], large - small - 1)  # the page test added one
        large_api = await pool_api(client, urls[0], agents[1])
        large_page = await asyncio.to_thread(page_render, urls[0], "bench-02", large)
    print(line(f"GET /pool with {small} waiting", small_api))
    print(line(f"GET /pool with {large} waiting", large_api))
    for count, (load_s, event_s) in ((small, small_page), (large, large_page)):
        print(f"{'console page, ' + str(count) + ' waiting':<46} load to all cards {load_s * 1000:8.0f} ms   "
              f"new handoff shown {event_s * 1000:6.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="", help="a scratch database (default: SQLite in a temp folder)")
    parser.add_argument("--redis-url", default="", help="Redis for the bus (needed with --processes 2)")
    parser.add_argument("--processes", type=int, default=1, choices=(1, 2))
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30, help="grab rounds")
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--handoffs", type=int, default=30, help="handoffs watched by the consoles")
    parser.add_argument("--waiting", type=int, default=1000)
    args = parser.parse_args()
    if args.processes > 1 and not args.redis_url:
        parser.error("--processes 2 needs --redis-url (the bus between the processes)")
    with tempfile.TemporaryDirectory(prefix="hpf-bench-console-") as folder:
        data_dir = Path(folder)
        url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
        prepare_database(url, args.agents)
        print(f"==> {args.processes} service process(es) on {url.split('://')[0]}; starting…", flush=True)
        urls, processes = start_services(url, args.redis_url, args.processes, data_dir)
        try:
            asyncio.run(run(args, urls))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
