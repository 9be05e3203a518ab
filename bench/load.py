"""Load on the production topology (server/topology.py), driven by Locust (bench/load_users.py): app,
WeChat and web-page citizens and agents together.

    scripts/bench.sh load [--minutes 30] [--users 60] [--saturate-minutes 3] [--saturate-users 150]

Prints, for the long run: requests and failures per endpoint with p50/p99, the error rate, and each
process's memory (PSS) after warm-up (the first fifth of the run) and at the end, with the growth. Then two
short saturation runs with no pauses, on two service instances and on one (the other stopped, nginx
skips it), each with the requests per second and the CPU each process used: the busiest process is the
bottleneck named. The machine is shared: compare the two throughputs of the same run, not runs.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from server.stack import ROOT
from server.topology import Topology

LOCUST = ROOT / ".venv-load" / "bin" / "locust"
USERS_FILE = ROOT / "bench" / "load_users.py"
AGENT_PASSWORD = "load-agent-pass-1"
WECHAT_TOKEN = "load-wechat-token"
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOCUST_GRACE_S = 90  # past its end, a user's task still running (a web citizen waits 60 s at most)


def tree(pid: int) -> list[int]:
    """The process and its children (Rasa's workers, nginx's worker)."""
    found = [pid]
    for child in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = child.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found += tree(int(child.parent.name))
    return found


def memory_mb(pid: int, kind: str = "Pss") -> float:
    """The process tree's proportional set size (PSS): pages shared between processes count once in
    all, split among them. RSS would count PostgreSQL's shared buffers again in every backend that has
    touched them, and show a cache filling as growth. `kind="Private"`: the pages no other process
    shares (Private_Clean + Private_Dirty)."""
    total = 0
    for member in tree(pid):
        try:
            rollup = Path(f"/proc/{member}/smaps_rollup").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in rollup.splitlines() if line.split(":")[0] in
                     ({"Pss"} if kind == "Pss" else {"Private_Clean", "Private_Dirty"}))
    return total / 1024


def cpu_s(pid: int) -> float:
    total = 0.0
    for member in tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def sample_memory(topology: Topology, run: subprocess.Popen, minutes: float,
                  every_s: float) -> dict[float, dict[str, tuple[float, float]]]:
    """Each process's (PSS, private) MB every `every_s` while Locust runs, and once more at its end."""
    started, samples = time.monotonic(), {}
    while run.poll() is None:
        try:
            run.wait(timeout=every_s)
        except subprocess.TimeoutExpired:
            overdue(run, started, minutes)
        minute = (time.monotonic() - started) / 60
        samples[minute] = {name: (memory_mb(pid), memory_mb(pid, "Private")) for name, pid in watched(topology).items()}
    return samples


def overdue(run: subprocess.Popen, started: float, minutes: float) -> None:
    """Stops Locust (it still writes its figures) once it overstays its run by LOCUST_GRACE_S: a user it
    fails to stop would otherwise hold the bench, and the memory samples would measure an idle system."""
    if time.monotonic() - started > minutes * 60 + LOCUST_GRACE_S and run.poll() is None:
        print(f"locust still running {LOCUST_GRACE_S} s after its end: stopped", flush=True)
        run.terminate()


def print_memory(samples: dict[float, dict[str, tuple[float, float]]], warm_up_min: float) -> None:
    """Growth from the end of warm-up to the end, and over the second half alone: a leak keeps its
    slope, a cache filling up or the allocator keeping its peak flattens out. PSS beside private memory:
    PostgreSQL's shared buffers count in its PSS as its backends touch them, a cache of fixed size
    (shared_buffers) filling, while its private memory is what its processes keep for themselves."""
    minutes = sorted(samples)
    after_warm_up = samples[next((m for m in minutes if m >= warm_up_min), minutes[0])]
    half = samples[next(m for m in minutes if m >= minutes[-1] / 2)]
    end = samples[minutes[-1]]
    shown = sorted(set(minutes[:: max(1, len(minutes) // 6)]) | {minutes[-1]})  # about seven columns
    print(f"\nPSS MB by minute: {'  '.join(f'{m:5.0f}' for m in shown)}")
    for name in sorted(end):
        curve = "  ".join(f"{samples[m].get(name, (0.0, 0.0))[0]:5.0f}" for m in shown)
        print(f"{name:16} {curve}")
    print(f"\n{'':12} {'PSS MB':>40}  {'private MB':>40}")
    print(f"{'process':12} " + "  ".join(f"{'warm':>7} {'end':>7} {'growth':>8} {'2nd half':>9}" for _ in range(2)))
    for name in sorted(end):
        cells = []
        for kind in (0, 1):
            first, middle, last = (s.get(name, (0.0, 0.0))[kind] for s in (after_warm_up, half, end))
            cells.append(f"{first:7.0f} {last:7.0f} {(last - first) / max(first, 1):8.1%} "
                         f"{(last - middle) / max(middle, 1):9.1%}")
        print(f"{name:12} " + "  ".join(cells))


def postgres_pid(topology: Topology) -> int | None:
    pid_file = topology.pg_data / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def watched(topology: Topology) -> dict[str, int]:
    pids = {name: p.pid for name, p in topology.processes.items() if p.poll() is None}
    if (pg := postgres_pid(topology)) is not None:
        pids["postgres"] = pg
    return pids


def add_agents(topology: Topology, count: int) -> list[str]:
    admin = httpx.post(f"{topology.base_url}/api/v1/console/login", json={"username": "admin",
                                                                         "password": "load-admin-pass-1"}).json()
    headers = {"Authorization": f"Bearer {admin['token']}"}
    names = [f"load-agent-{n}" for n in range(count)]
    for n, name in enumerate(names):
        httpx.post(f"{topology.base_url}/api/v1/console/agents", headers=headers, json={
            "username": name, "password": AGENT_PASSWORD, "role": "agent", "capacity": 50,
            "display_name": f"客服 {n:04d} 测"}).raise_for_status()
    return names


def start_locust(topology: Topology, agents: list[str], *, users: int, minutes: float, out: Path,
                 saturate: bool) -> tuple[subprocess.Popen, Path]:
    """Locust headless against the topology; the process and where its per-endpoint figures will be."""
    env = dict(os.environ, HPF_LOAD_APP_KEY=topology.secrets["APP_API_KEY"], HPF_LOAD_WECHAT_TOKEN=WECHAT_TOKEN,
               HPF_LOAD_AGENTS=",".join(agents), HPF_LOAD_AGENT_PASSWORD=AGENT_PASSWORD,
               HPF_LOAD_NO_WAIT="1" if saturate else "")
    prefix = out / ("saturate" if saturate else "run")
    ramp = max(1, users // (10 if saturate else 20))  # users started per second
    process = subprocess.Popen([str(LOCUST), "-f", str(USERS_FILE), "--headless", "--host", topology.base_url,
                                "-u", str(users), "-r", str(ramp), "-t", f"{int(minutes * 60)}s",
                                "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"], env=env)
    return process, Path(f"{prefix}_stats.csv")


def read_stats(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def print_stats(rows: list[dict[str, str]]) -> tuple[int, int, float]:
    print(f"{'endpoint':60} {'requests':>9} {'failures':>9} {'p50 ms':>8} {'p99 ms':>8}")
    total = failed = 0
    rps = 0.0
    for row in rows:
        if row["Name"] == "Aggregated":
            rps = float(row["Requests/s"])
            continue
        total += int(row["Request Count"])
        failed += int(row["Failure Count"])
        print(f"{row['Type'] + ' ' + row['Name']:60.60} {row['Request Count']:>9} {row['Failure Count']:>9} "
              f"{row['50%']:>8} {row['99%']:>8}")
    print(f"error rate {failed}/{total} = {failed / max(total, 1):.4%}; {rps:.1f} requests/s")
    return total, failed, rps


def saturate(topology: Topology, agents: list[str], users: int, minutes: float, out: Path, label: str) -> float:
    before = {name: cpu_s(pid) for name, pid in watched(topology).items()}
    started = time.monotonic()
    process, figures = start_locust(topology, agents, users=users, minutes=minutes, out=out, saturate=True)
    while process.poll() is None:
        time.sleep(5)
        overdue(process, started, minutes)
    stats = read_stats(figures)
    elapsed = time.monotonic() - started
    used = {name: cpu_s(pid) - before.get(name, 0.0) for name, pid in watched(topology).items()}
    print(f"\n== saturation, {label}: {users} users without pauses for {minutes:g} min")
    _, _, rps = print_stats(stats)
    busiest = sorted(used.items(), key=lambda kv: kv[1], reverse=True)
    print("CPU used per process (share of one core): " +
          ", ".join(f"{name} {seconds / elapsed:.0%}" for name, seconds in busiest[:6]))
    print(f"bottleneck: {busiest[0][0]} ({busiest[0][1] / elapsed:.0%} of a core; this machine has "
          f"{os.cpu_count()} cores)")
    return rps


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--saturate-minutes", type=float, default=3)
    parser.add_argument("--saturate-users", type=int, default=150)
    options = parser.parse_args()
    if not LOCUST.exists():
        print("error: .venv-load is missing: scripts/bench.sh load makes it", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="hpf-load-"))
    root.chmod(0o755)
    out = root / "locust"
    out.mkdir()
    topology = Topology(root, extra_env={
        "CONSOLE_BOOTSTRAP_ADMIN": "admin:load-admin-pass-1", "WECHAT_TOKEN": WECHAT_TOKEN, "WECHAT_MODE": "plain",
        "WECHAT_APPID": "wxload0000000000", "WECHAT_SECRET": "load-secret",
        "WECHAT_API_BASE": "http://127.0.0.1:9/",  # nothing there: pushes fail fast and are only logged
        "RATE_LIMIT_CITIZEN": "0"})
    try:
        print(f"==> starting the topology in {root}", flush=True)
        topology.start(timeout=900)
        agents = add_agents(topology, 4)
        warm_up = options.minutes / 5
        print(f"==> {options.users} users for {options.minutes:g} min (memory measured after {warm_up:g} min)",
              flush=True)
        started = time.monotonic()
        locust_run, figures = start_locust(topology, agents, users=options.users, minutes=options.minutes, out=out,
                                           saturate=False)
        samples = sample_memory(topology, locust_run, options.minutes, every_s=60)
        print(f"\n== {options.users} users for {(time.monotonic() - started) / 60:.1f} min")
        print_stats(read_stats(figures))
        print_memory(samples, warm_up)
        two = saturate(topology, agents, options.saturate_users, options.saturate_minutes, out, "two instances")
        topology.stop_process("service-2")
        one = saturate(topology, agents, options.saturate_users, options.saturate_minutes, out, "one instance")
        print(f"\nthroughput: two instances {two:.1f}/s, one {one:.1f}/s, ratio {two / max(one, 0.1):.2f}×")
        return 0
    finally:
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
