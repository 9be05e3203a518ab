"""Latency of one conversation turn through the app API versus the same message sent straight to
Rasa's REST webhook, in the same run, at 1 and 8 concurrent users; and each process's memory.

    python -m bench.latency [--turns 40]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil

from bench.stats import APP_API_KEY, APP_HEADERS, percentile
from server.stack import Stack, free_port

QUESTIONS = [
    "你好",
    "租房提取公积金要啥材料",
    "公积金贷款利率现在多少",
    "退休了公积金咋取",
    "异地转移怎么办理",
    "谢谢",
]


async def user(client: httpx.AsyncClient, mode: str, stack: Stack, turns: int) -> list[float]:
    me = f"bench-{uuid.uuid4().hex[:10]}"
    timings = []
    for i in range(turns):
        text = QUESTIONS[i % len(QUESTIONS)]
        started = time.perf_counter()
        if mode == "app":
            url, body = f"{stack.base_url}/api/v1/app/messages", {"user_id": me, "text": text}
        else:
            url, body = f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": me, "message": text}
        response = await client.post(url, json=body, headers=APP_HEADERS if mode == "app" else None)
        response.raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


async def measure(stack: Stack, mode: str, users: int, turns: int) -> list[float]:
    async with httpx.AsyncClient(timeout=30) as client:
        results = await asyncio.gather(*(user(client, mode, stack, turns) for _ in range(users)))
    return [t for timings in results for t in timings]


def memory_mb(stack: Stack) -> dict[str, float]:
    figures = {}
    for name, process in stack.processes.items():
        parent = psutil.Process(process.pid)
        figures[name] = sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20
    return figures


async def run(stack: Stack, turns: int) -> None:
    await measure(stack, "app", 2, 6)  # warm-up: models, connections, caches
    await measure(stack, "rasa", 2, 6)
    print(f"{'users':>5} {'path':<22} {'p50 ms':>8} {'p99 ms':>8} {'n':>5}")
    for users in (1, 8):
        samples: dict[str, list[float]] = {"rasa": [], "app": []}
        for _ in range(2):  # alternate the two paths so drift on a shared machine hits both alike
            for mode in ("rasa", "app"):
                samples[mode] += await measure(stack, mode, users, turns // 2)
        for mode, label in (("rasa", "Rasa webhook (direct)"), ("app", "app API (service+Rasa)")):
            values = samples[mode]
            p50, p99 = statistics.median(values), percentile(values, 99)
            print(f"{users:>5} {label:<22} {p50:>8.1f} {p99:>8.1f} {len(values):>5}")
        overhead = statistics.median(samples["app"]) / statistics.median(samples["rasa"]) - 1
        print(f"{users:>5} service overhead at p50: {overhead:+.1%}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=40, help="messages per user per path")
    args = parser.parse_args()
    stack = Stack(
        data_dir=Path(tempfile.mkdtemp(prefix="bench-latency-")),
        service_port=free_port(), rasa_port=free_port(), actions_port=free_port(), app_api_key=APP_API_KEY,
    )
    try:
        stack.start()
        print("resident memory after start (MB): "
              + ", ".join(f"{k} {v:.0f}" for k, v in memory_mb(stack).items()) + "\n")
        asyncio.run(run(stack, args.turns))
        print("resident memory after the run (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in memory_mb(stack).items()))
    except Exception:
        print(stack.tail_logs(), file=sys.stderr)
        raise
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
