"""一点就能办 link page benchmark: the page served by the real service (`python -m server`, uvicorn on
127.0.0.1, SQLite in a temporary folder, no Rasa: the page does not need it), opened by 50 concurrent
openers. Each open checks the token, reads the link, counts the open (an UPDATE; the first one also
writes the funnel's `opened` row), evaluates the checklist and renders the page. Baselines in the same
run, with the same concurrency: the page's stylesheet (a static file) and the checklist listing (a JSON
route with no database). Back to back (each opener asks again as soon as it is answered: the worst
case) and paced (each pauses half a second, as a person reading would). Target: the page's p99 under
100 ms.

    python -m bench.outreach_links [--links 1000] [--openers 50] [--rounds 2]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert

from bench.stats import percentile
from core.db import migrate, utcnow
from core.settings import ROOT, Settings, normalise_db_url
from outreach import links
from outreach.models import OutreachLink
from server.stack import free_port, quiet_env, wait_http

SECRET = "bench-session-secret-0123456789abcdef"
BUSINESS = "withdraw-repay-commercial-loan"


def line(label: str, values_ms: list[float]) -> str:
    return (f"{label:<44} p50 {statistics.median(values_ms):7.1f} ms   p99 {percentile(values_ms, 99):7.1f} ms   "
            f"max {max(values_ms):7.1f} ms   n={len(values_ms)}")


def prepare(url: str, count: int, base: str) -> list[str]:
    """`count` campaign links like a segment's (masked name, figures, two answers the data gives)."""
    migrate(url)
    settings = Settings(session_secret=SECRET, public_base_url=base)
    now = utcnow()
    rows = []
    for n in range(count):
        row, _ = links.new_link(settings, business=BUSINESS, now=now, ttl_s=7 * 86400, depositor_ref=f"ref-{n}",
                                facts={"姓名": "张*明", "贷款余额": f"{30 + n % 40}.5 万元"},
                                answers={"loan_type": "housing", "borrower": "self"},
                                campaign_id=1, recipient_id=n + 1, segment="no-repay-withdrawal", channel="sms")
        rows.append({"id": row.id, "business": row.business, "facts": row.facts, "answers": row.answers,
                     "depositor_ref": row.depositor_ref, "campaign_id": 1, "recipient_id": n + 1,
                     "segment": row.segment, "channel": row.channel, "created_at": now,
                     "expires_at": now + timedelta(days=7), "opens": 0})
    engine = create_engine(normalise_db_url(url, sync=True))
    with engine.begin() as conn:
        conn.execute(insert(OutreachLink.__table__), rows)
    engine.dispose()
    return [f"/o/{links.token_for(settings, row['id'])}" for row in rows]


async def hammer(client: httpx.AsyncClient, paths: list[str], openers: int, expect: int,
                 think_s: float = 0.0) -> list[float]:
    """`openers` tasks share the paths, each pausing `think_s` after an answer (0: back to back, the
    worst case); each request's latency in ms."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    timings: list[float] = []

    async def opener() -> None:
        while not queue.empty():
            path = queue.get_nowait()
            started = time.perf_counter()
            response = await client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != expect:
                raise RuntimeError(f"{path}: {response.status_code}")
            if think_s:
                await asyncio.sleep(think_s)

    await asyncio.gather(*(opener() for _ in range(openers)))
    return timings


async def measure(base: str, paths: list[str], openers: int, rounds: int) -> None:
    limits = httpx.Limits(max_connections=openers, max_keepalive_connections=openers, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        await hammer(client, ["/outreach/static/link.css"] * openers, openers, 200)  # connections warm
        # What one open costs by itself on this machine, before any queueing.
        alone = paths[: min(200, len(paths))]
        css = ["/outreach/static/link.css"] * len(alone)
        print(line("alone: static stylesheet", await hammer(client, css, 1, 200)))
        print(line("alone: link page, first open", await hammer(client, alone, 1, 200)))
        paths = paths[len(alone):] or paths
        print(f"{openers} concurrent openers, {len(paths)} links")
        print(line("baseline: static stylesheet", await hammer(client, ["/outreach/static/link.css"] * len(paths),
                                                                openers, 200)))
        print(line("baseline: GET /api/v1/checklists (no database)",
                   await hammer(client, ["/api/v1/checklists"] * len(paths), openers, 200)))
        print(line("link page, first open (funnel row written)", await hammer(client, paths, openers, 200)))
        for n in range(rounds):
            print(line(f"link page, open again (round {n + 1})", await hammer(client, paths, openers, 200)))
        # People read a page before the next: each opener pauses half a second (about 100 opens a second).
        print(line("baseline: static stylesheet, paced", await hammer(
            client, ["/outreach/static/link.css"] * len(paths), openers, 200, think_s=0.5)))
        print(line("link page, paced", await hammer(client, paths, openers, 200, think_s=0.5)))
        forged = [path[:-2] + ("AA" if not path.endswith("AA") else "BB") for path in paths]
        print(line("tampered token (403, no database)", await hammer(client, forged, openers, 403)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--openers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        url = f"sqlite+aiosqlite:///{data / 'bench.db'}"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        paths = prepare(url, args.links, base)
        env = quiet_env(DATABASE_URL=url, DATA_DIR=str(data), PORT=str(port), SESSION_SECRET=SECRET,
                        PUBLIC_BASE_URL=base, INDEX_DIR=str(Settings().index_dir),
                        RASA_URL=f"http://127.0.0.1:{free_port()}", LOG_LEVEL="warning")
        with open(data / "service.log", "wb") as log:
            process = subprocess.Popen([sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log,
                                       stderr=subprocess.STDOUT)
            try:
                wait_http(f"{base}/outreach/static/link.css", 600, process)
                asyncio.run(measure(base, paths, args.openers, args.rounds))
            finally:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
