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
import re
import shutil
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


# wrk (Debian's package) keeps 50 connections busy from a C client that costs the machine little, so what
# it measures is the service, not a Python client sharing the same two cores. Each of its threads walks
# the list of paths in turn.
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("HPF_BENCH_PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
local pause = tonumber(os.getenv("HPF_BENCH_PAUSE_MS") or "0")
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
if pause > 0 then
  delay = function() return math.random(math.floor(pause / 2), math.floor(pause * 3 / 2)) end
end
"""
_WRK_LINE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(base: str, paths: list[str], openers: int, seconds: int, folder: Path,
        pause_ms: int = 0) -> dict[str, float] | None:
    """p50 and p99 (ms) and requests/s of `openers` connections for `seconds`, each pausing about
    `pause_ms` between its requests (0: back to back); None when wrk is missing."""
    if shutil.which("wrk") is None:
        return None
    (folder / "paths.txt").write_text("\n".join(paths) + "\n", encoding="ascii")
    (folder / "walk.lua").write_text(WRK_SCRIPT, encoding="ascii")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{openers}", f"-d{seconds}s", "--latency", "-s", str(folder / "walk.lua"), base],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True,
        env={"HPF_BENCH_PATHS": str(folder / "paths.txt"), "HPF_BENCH_PAUSE_MS": str(pause_ms)},
    ).stdout
    if "Non-2xx" in out or "error" in out.lower():
        raise RuntimeError(f"wrk saw errors:\n{out}")
    found = {f"p{q}": float(v) * _UNIT_MS[u] for q, v, u in _WRK_LINE.findall(out)}
    found["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return found


def wrk_report(base: str, paths: list[str], openers: int, folder: Path) -> None:
    """Back to back (the worst case: every connection asks again at once, so latency is the queue of 50
    behind one process) and as people open links (each pauses about half a second, 0.25–0.75 s, after a
    page: some 100 opens a second), the link page beside the static stylesheet each time."""
    for pause_ms, how in ((0, "back to back"), (500, "each pausing ~0.5 s")):
        static = wrk(base, ["/outreach/static/link.css"], openers, 15, folder, pause_ms)
        if static is None:
            print("wrk is not installed (apt-get install wrk): no C-client figures")
            return
        page = wrk(base, paths, openers, 15, folder, pause_ms)
        assert page is not None
        print(f"wrk, {openers} connections {how}, 15 s:")
        for label, figures in (("  static stylesheet", static), ("  link page", page)):
            print(f"{label:<44} p50 {figures['p50']:7.1f} ms   p99 {figures['p99']:7.1f} ms   "
                  f"{figures['rps']:7.0f} requests/s")
        print(f"  link page p99 / static p99: {page['p99'] / static['p99']:.2f}; link page p99 < 100 ms: "
              f"{'met' if page['p99'] < 100 else 'NOT met'}")


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
                wrk_report(base, paths, args.openers, data)
            finally:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
