"""WeChat under load: simulated followers all sending at once to the real service (real Rasa and
action server), through the fake WeChat, which signs and encrypts as WeChat does and waits 5 s.

    python -m bench.wechat [--users 50] [--turns 2]

Two service processes share one database: the first as configured (passive replies within the 4 s
budget, pushes after), the second with the budget cut to 10 ms so every answer goes by push, to
measure the push path under the same load. Printed per process: the share of requests answered
(HTTP 200) within WeChat's 5 s, the endpoint's response time p50/p99, the share of citizens who
saw their answer within 5 s, and the time until a pushed answer reached WeChat's API, p50/p99.
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.stats import percentile
from fakes.wechat import FakeWeChat, text
from server.stack import Stack, free_port, wait_http

QUESTIONS = [
    "租房提取公积金要啥材料",
    "公积金贷款利率现在多少",
    "退休了公积金咋取",
    "异地转移怎么办理",
    "公积金贷款最多能贷多少",
    "离职了公积金怎么办",
    "你好",
    "怎么查公积金余额",
]
TOKEN, APPID, SECRET = "bench-token", "wxbench0000000001", "bench-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT_DEADLINE_S = 5.0


@dataclass
class Figures:
    responses: list[float] = field(default_factory=list)      # endpoint response times, s (every attempt)
    first_ok_in_time: int = 0                                  # first attempts answered with 200 within 5 s
    requests: int = 0
    answer_times: list[float] = field(default_factory=list)   # send → first answer the citizen saw, s
    push_times: list[float] = field(default_factory=list)     # send → pushed answer at WeChat's API, s
    passive: int = 0
    errors: int = 0        # WeChat's "service unavailable" shown (an error status or a reply it cannot read)
    unanswered: int = 0


async def one_turn(fake: FakeWeChat, url: str, openid: str, question: str, figures: Figures) -> None:
    seen_before = len(fake.shown(openid))
    started = time.monotonic()
    delivery = await fake.send(url, text(openid, question), mode="safe")
    figures.requests += 1
    first = delivery.attempts[0]
    figures.first_ok_in_time += first.status == 200 and first.elapsed <= WECHAT_DEADLINE_S
    figures.responses += [a.elapsed for a in delivery.attempts if a.status is not None]
    if delivery.shown is not None and delivery.shown.via == "error":
        figures.errors += 1
        return
    if delivery.shown is not None:
        figures.passive += 1
        figures.answer_times.append(delivery.shown.at - started)
        return
    deadline = time.monotonic() + 60
    while len(fake.shown(openid)) <= seen_before and time.monotonic() < deadline:
        # Arrival times are stamped by the fake's API as pushes come in; polling slowly costs no accuracy
        # and leaves the CPU to the service and the fake's API.
        await asyncio.sleep(0.2)
    shown = fake.shown(openid)[seen_before:]
    if not shown:
        figures.unanswered += 1
        return
    figures.answer_times.append(shown[0].at - started)
    figures.push_times.append(shown[0].at - started)


async def load(fake: FakeWeChat, url: str, users: int, turns: int) -> Figures:
    figures = Figures()
    citizens = [f"o-bench-{uuid.uuid4().hex[:16]}" for _ in range(users)]
    for turn in range(turns):
        await asyncio.gather(*(
            one_turn(fake, url, openid, QUESTIONS[(i + turn) % len(QUESTIONS)], figures)
            for i, openid in enumerate(citizens)
        ))
    return figures


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f}" if values else "-"


def report(label: str, f: Figures) -> None:
    in_time = sum(t <= WECHAT_DEADLINE_S for t in f.answer_times)
    print(f"\n{label}")
    print(f"  requests answered (HTTP 200) within 5 s at the first attempt: {f.first_ok_in_time}/{f.requests}"
          f" = {f.first_ok_in_time / f.requests:.1%}")
    print(f"  endpoint response time: p50 {_ms(f.responses, 50)} ms, p99 {_ms(f.responses, 99)} ms"
          f" (attempts that got a response: {len(f.responses)})")
    print(f"  answers: {f.passive} passive, {len(f.push_times)} pushed, {f.errors} errors shown,"
          f" {f.unanswered} missing; seen within 5 s of sending: {in_time}/{f.requests}")
    print(f"  pushed answer at WeChat's API after: p50 {_ms(f.push_times, 50)} ms, p99 {_ms(f.push_times, 99)} ms")
    print(f"  any answer seen after: p50 {_ms(f.answer_times, 50)} ms, p99 {_ms(f.answer_times, 99)} ms")


def start_push_only_service(stack: Stack) -> tuple[subprocess.Popen, str]:
    """A second service process on the same database, pushing every answer."""
    port = free_port()
    env = stack.env() | {"PORT": str(port), "WECHAT_REPLY_BUDGET_S": "0.01"}
    log = open(stack.data_dir / "logs" / "service-push.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "server"], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz", 240, process)
    return process, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50, help="followers sending at once")
    parser.add_argument("--turns", type=int, default=2, help="messages per follower (all send each turn together)")
    args = parser.parse_args()
    with FakeWeChat(token=TOKEN, appid=APPID, secret=SECRET, aes_key=AES_KEY) as fake:
        service_port = free_port()
        stack = Stack(
            data_dir=Path(tempfile.mkdtemp(prefix="bench-wechat-")),
            service_port=service_port, rasa_port=free_port(), actions_port=free_port(),
            extra_env={
                "WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY, "WECHAT_APPID": APPID, "WECHAT_SECRET": SECRET,
                "WECHAT_API_BASE": fake.api_base, "WECHAT_OAUTH_BASE": fake.oauth_base,
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{service_port}",
            },
        )
        pusher = None
        try:
            stack.start()
            pusher, push_url = start_push_only_service(stack)
            asyncio.run(load(fake, f"{stack.base_url}/wechat", 4, 1))  # warm-up: models, connections, token
            print(f"{args.users} WeChat followers sending at once, {args.turns} turns, safe (encrypted) mode;"
                  " real Rasa and action server")
            report("service as configured (passive within 4.0 s, else push):",
                   asyncio.run(load(fake, f"{stack.base_url}/wechat", args.users, args.turns)))
            report("service with the budget cut to 10 ms (every answer pushed):",
                   asyncio.run(load(fake, f"{push_url}/wechat", args.users, args.turns)))
        except Exception:
            print(stack.tail_logs(), file=sys.stderr)
            raise
        finally:
            if pusher is not None:
                pusher.terminate()
                pusher.wait(timeout=20)
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
