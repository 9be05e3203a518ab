"""好差评 analysis benchmark: N synthetic ratings (default 1,000,000, a year's worth) and the rectification
cases of their bad ones bulk-inserted into a migrated scratch database, then every chart of the supervisor
pages timed through `ratings.analysis` (the routes' own code): the analysis page's seven queries for the
last 30 days, the month-by-month trend over the longest range a chart allows (400 days), the wall view's
four and the public page's figures. Each is run `--runs` times after a warm-up; p50 and p99 are printed.
Target: every chart under 500 ms at p99. Then the monthly report (figures, XLSX and PDF), target under 30 s.
A plain COUNT(*) over the ratings in the same run is the baseline.

SQLite always; PostgreSQL too when a URL is given or TEST_POSTGRES_URL is set (scripts/test-servers.sh).

    python -m bench.ratings_analysis [--ratings 1000000] [--runs 30] [--database-url postgresql://…]
    (the PostgreSQL database's schema is dropped and rebuilt: give it a scratch database)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from bench.outreach_funnel import reset_postgres
from core.db import make_engine, make_sessionmaker, migrate
from core.settings import Settings, normalise_db_url
from ratings import analysis, report
from ratings.models import Rating
from ratings.reasons import REASONS
from ratings.routes import public

# The ratings run up to "now", a Monday morning in the centre's time: the last 30 days are November's
# last three weeks (an ended month, kept after the first run) and this month's first days (read each time).
END = datetime(2026, 12, 7, 10, tzinfo=timezone.utc) - timedelta(hours=8)
DAYS = 365
NOW = END
CHANNELS = [("web", 0.25), ("app", 0.25), ("wechat", 0.2), ("phone", 0.15), ("counter", 0.12), ("outbound", 0.03)]
BUSINESSES = ["withdraw-rent", "withdraw-retirement", "withdraw-purchase-new", "withdraw-purchase-resale",
              "withdraw-repay-hpf-loan", "withdraw-repay-commercial-loan", "loan-apply", "loan-prepay",
              "deposit-unit-registration", "deposit-supplement", "account-query", "account-transfer-intercity",
              "account-info-change", "贷款", "提取", "缴存", None]
DEPARTMENTS = ["归集科", "提取科", "贷款科", "稽核科", "客服中心"]
OFFICES = [f"{name}管理部" for name in ("邯山区", "丛台区", "复兴区", "峰峰矿区", "肥乡区", "永年区", "临漳县",
                                          "成安县", "大名县", "涉县", "磁县", "邱县", "鸡泽县", "广平县", "馆陶县",
                                          "魏县", "曲周县", "武安市", "经开区", "冀南新区")]
LEVELS = [(5, 0.62), (4, 0.2), (3, 0.08), (2, 0.06), (1, 0.04)]
AGENTS = 200
COLUMNS = ("event_key", "kind", "channel", "level", "reasons", "comment", "business", "department", "agent_id",
           "counter", "citizen_id", "conversation_id", "created_at", "mark", "marked_at")
CASE_COLUMNS = ("rating_id", "department", "status", "opened_at", "callback_due_at", "due_at", "called_back_at",
                "replied_at", "closed_at", "escalation")


def _pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def rows(count: int, seed: int = 11) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...] | None]]:
    """Each rating, and the case its bad level opened (None for a good one)."""
    rng = random.Random(seed)
    span = DAYS * 86400
    for n in range(1, count + 1):
        channel = _pick(rng, CHANNELS)
        level = _pick(rng, LEVELS)
        bot = channel in ("web", "app", "wechat", "phone") and rng.random() < 0.35
        agent = None if bot or channel == "outbound" else rng.randrange(1, AGENTS + 1)
        department = rng.choice(OFFICES) if channel == "counter" else rng.choice(DEPARTMENTS)
        # In the order they are recorded, as a live table fills: the newest rows are the last pages.
        at = END - timedelta(seconds=span * (count - n + rng.random()) / count)
        bad = level <= 2
        reasons = rng.sample(REASONS, rng.choice((1, 1, 2))) if bad and rng.random() < 0.8 else []
        mark = "upheld" if bad and rng.random() < 0.03 else None
        kind = ("call_bot" if channel == "phone" else "bot") if bot else (
            "counter" if channel == "counter" else "outbound" if channel == "outbound" else
            "call_agent" if channel == "phone" else "agent")
        rating = (f"bench-{n}", kind, channel, level, json.dumps(reasons, ensure_ascii=False),
                  "等了很久" if bad and rng.random() < 0.3 else None, rng.choice(BUSINESSES), department, agent,
                  f"w-{rng.randrange(1, 200)}" if channel == "counter" else None, f"citizen-{rng.randrange(400_000)}",
                  None if channel in ("counter", "outbound") else f"conv-{n}", at, mark,
                  at + timedelta(days=5) if mark else None)
        case = None
        if bad:
            called = at + timedelta(hours=rng.uniform(1, 40)) if rng.random() < 0.85 else None
            replied = at + timedelta(days=rng.uniform(1, 10)) if rng.random() < 0.9 else None
            if replied is not None and replied > NOW:
                replied = None
            if called is not None and called > NOW:
                called = None
            due = at + timedelta(days=7)
            case = (n, department, "closed" if replied else "open", at, at + timedelta(days=1), due, called,
                    replied, replied, 0 if replied or due > NOW else (2 if NOW - due > timedelta(days=3) else 1))
        yield rating, case


def _text(value: Any) -> Any:
    """A datetime as SQLAlchemy stores one on SQLite (UTC text), so the range filters compare alike."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def bulk_insert(url: str, count: int) -> tuple[float, int]:
    """Ratings then cases, in one transaction (COPY on PostgreSQL, executemany on SQLite); seconds, cases."""
    engine = create_engine(normalise_db_url(url, sync=True), poolclass=NullPool)
    started = time.perf_counter()
    cases: list[tuple[Any, ...]] = []
    with engine.begin() as connection:
        raw: Any = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY ratings ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for rating, case in rows(count):
                        copy.write_row(rating)
                        if case:
                            cases.append(case)
                with cursor.copy(f"COPY rectification_cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy:
                    for case in cases:
                        copy.write_row(case)
        else:
            batch: list[tuple[Any, ...]] = []
            sql = f"INSERT INTO ratings ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            for rating, case in rows(count):
                batch.append(tuple(_text(v) for v in rating))
                if case:
                    cases.append(tuple(_text(v) for v in case))
                if len(batch) == 50_000:
                    raw.executemany(sql, batch)
                    batch.clear()
            raw.executemany(sql, batch)
            raw.executemany(f"INSERT INTO rectification_cases ({', '.join(CASE_COLUMNS)}) "
                            f"VALUES ({', '.join('?' * len(CASE_COLUMNS))})", cases)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE ratings")
            connection.exec_driver_sql("VACUUM ANALYZE rectification_cases")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - started, len(cases)


async def timed(runs: int, work: Callable[[], Awaitable[object]]) -> tuple[float, float, float, object]:
    """The first run's time (nothing kept yet), p50 and p99 of the `runs` after it, and the last result."""
    started = time.perf_counter()
    result = await work()
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - started)
    times.sort()
    return first, statistics.median(times), times[min(len(times) - 1, round(0.99 * (len(times) - 1)))], result


async def measure(url: str, runs: int, scratch: Path) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    settings = Settings(data_dir=scratch, database_url=url)
    last = NOW.astimezone(analysis.LOCAL).date()
    month = analysis.Window.days(last - timedelta(days=29), last)
    longest = analysis.Window.days(last - timedelta(days=399), last)
    today = analysis.Window.days(last, last)
    async with sessions() as session:
        async def count_all() -> object:
            return await session.scalar(select(func.count()).select_from(Rating))

        def chart(by: str, window: analysis.Window, period: str = "day") -> Callable[[], Awaitable[object]]:
            async def work() -> object:
                return analysis.scored(await analysis.figures(session, settings, window, by=by, period=period,
                                                              now=NOW), settings)
            return work

        async def reasons() -> object:
            return await analysis.reasons(session, month, now=NOW)

        async def rectification() -> object:
            return await analysis.rectification(session, month, now=NOW, by_department=True)

        async def recent() -> object:
            return await analysis.recent(session, settings, limit=20)

        async def overdue() -> object:
            return [await analysis.overdue_cases(session, settings, now=NOW, limit=30),
                    await analysis.overdue_count(session, now=NOW)]

        async def public_page() -> object:
            return await public.figures(session, settings, "2026-11", now=NOW)

        _first, p50, _p99, total = await timed(runs, count_all)
        print(f"  baseline COUNT(*) over {total:,} ratings: {p50 * 1000:8.1f} ms")
        charts: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("30 days by period (day)", chart("period", month)),
            ("30 days by business", chart("business", month)),
            ("30 days by channel", chart("channel", month)),
            ("30 days by department", chart("department", month)),
            ("30 days by agent", chart("agent", month)),
            ("30 days: reasons of bad ratings", reasons),
            ("30 days: rectification by department", rectification),
            ("400 days by period (month)", chart("period", longest, "month")),
            ("400 days by business", chart("business", longest)),
            ("wall: today by department", chart("department", today)),
            ("wall: latest ratings", recent),
            ("wall: overdue cases", overdue),
            ("public page: one month", public_page),
        ]
        for name, work in charts:
            first, p50, p99, result = await timed(runs, work)
            verdict = "ok" if p99 < 0.5 else "OVER 500 ms"
            size = len(result) if isinstance(result, list) else 1
            print(f"  {name:<40} p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms  first {first * 1000:7.1f} ms  "
                  f"({size} rows) {verdict}")
        started = time.perf_counter()
        gathered = await report.gather(session, settings, "2026-11", now=NOW)
        figures_s = time.perf_counter() - started
    started = time.perf_counter()
    book = report.xlsx(gathered)
    xlsx_s = time.perf_counter() - started
    started = time.perf_counter()
    paper = report.pdf(gathered, report.font_path(settings))
    pdf_s = time.perf_counter() - started
    total_s = figures_s + xlsx_s + pdf_s
    print(f"  monthly report 2026-11 ({gathered.total['count']:,} ratings): figures {figures_s:.2f} s, "
          f"XLSX {xlsx_s:.2f} s ({len(book) // 1024} KB), PDF {pdf_s:.2f} s ({len(paper) // 1024} KB); "
          f"{'ok' if total_s < 30 else 'OVER 30 s'}")
    await engine.dispose()


def run(url: str, label: str, count: int, runs: int, scratch: Path) -> None:
    migrate(url)
    seconds, cases = bulk_insert(url, count)
    print(f"{label}: {count:,} ratings and {cases:,} cases inserted in {seconds:.1f} s")
    asyncio.run(measure(url, runs, scratch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL", ""),
                        help="a scratch PostgreSQL database (its schema is dropped)")
    args = parser.parse_args()
    print(f"ratings over the {DAYS} days to {NOW.astimezone(analysis.LOCAL):%Y-%m-%d %H:%M}; "
          f"charts timed {args.runs} times each")
    with tempfile.TemporaryDirectory(prefix="hpf-bench-ratings-") as scratch:
        run(f"sqlite+aiosqlite:///{Path(scratch) / 'ratings.db'}", "SQLite", args.ratings, args.runs, Path(scratch))
        if args.database_url:
            reset_postgres(args.database_url)
            run(args.database_url, "PostgreSQL", args.ratings, args.runs, Path(scratch))


if __name__ == "__main__":
    main()
