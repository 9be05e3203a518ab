"""Funnel benchmark: N synthetic funnel events (default 1,000,000) bulk-inserted into a migrated scratch
database, then the funnel query (`outreach.funnel.funnel`, the route's own code) timed over them: the
whole funnel by campaign × segment × channel × business, one campaign, and one week. A plain COUNT(*)
over the same table in the same run is the baseline. Target: the funnel under 1 s.

SQLite always; PostgreSQL too when a URL is given or TEST_POSTGRES_URL is set (scripts/test-servers.sh).

    python -m bench.outreach_funnel [--events 1000000] [--runs 5] [--database-url postgresql://…]
    (the PostgreSQL database's schema is dropped and rebuilt: give it a scratch database)
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from core.db import make_engine, make_sessionmaker, migrate
from core.settings import normalise_db_url
from outreach.funnel import STAGES, funnel
from outreach.models import FunnelEvent

CAMPAIGNS = 200
SEGMENTS = ["loan_no_withdrawal", "could_borrow", "combination_loan", "employer_admins", "assistants",
            "rate_change", "policy_article", ""]
CHANNELS = ["sms", "wechat", "push", "card", "voice", ""]
BUSINESSES = ["repay_commercial_loan", "repay_hpf_loan", "loan_application", "rent_withdrawal",
              "retirement_withdrawal", "policy_update"]
# Of those who reached a stage, how many reach the next: delivered, opened, checklist, handed off, completed.
ONWARD = [0.92, 0.45, 0.6, 0.7, 0.8]
START = datetime(2026, 9, 1, tzinfo=timezone.utc)


def events(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """Each subject's path through the stages, until `count` events. A campaign has one segment, channel
    and business (as the engine prepares it); a tenth of the subjects are links an agent or the bot gave
    out, with no campaign or segment, which start at opened."""
    rng = random.Random(seed)
    campaigns = {n: (n, rng.choice(SEGMENTS[:-1]), rng.choice(CHANNELS[:-1]), rng.choice(BUSINESSES))
                 for n in range(1, CAMPAIGNS + 1)}
    made = subject = 0
    while made < count:
        subject += 1
        from_link = rng.random() < 0.1
        key = f"l:{subject:024x}" if from_link else f"r:{subject}"
        group = (None, "", "", rng.choice(BUSINESSES)) if from_link else campaigns[rng.randrange(1, CAMPAIGNS + 1)]
        at = START + timedelta(seconds=rng.randrange(90 * 86400))
        stages = STAGES[2:] if from_link else STAGES
        for n, stage in enumerate(stages):
            if made >= count or (n and rng.random() > ONWARD[n - 1 + (2 if from_link else 0)]):
                break
            yield (key, stage.value, *group, at)
            at += timedelta(minutes=rng.randrange(1, 3 * 1440))
            made += 1


def bulk_insert(url: str, count: int) -> float:
    """Insert the events in one transaction (COPY on PostgreSQL, executemany on SQLite); seconds taken."""
    columns = ("subject", "stage", "campaign_id", "segment", "channel", "business", "at")
    engine = create_engine(normalise_db_url(url, sync=True), poolclass=NullPool)
    started = time.perf_counter()
    with engine.begin() as connection:
        raw: Any = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY outreach_funnel ({', '.join(columns)}) FROM STDIN") as copy:
                for row in events(count):
                    copy.write_row(row)
        else:
            batch: list[tuple[Any, ...]] = []
            sql = f"INSERT INTO outreach_funnel ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for key, stage, campaign, segment, channel, business, at in events(count):
                # Stored as SQLAlchemy writes a DateTime on SQLite (UTC text), so the time filters compare alike.
                batch.append((key, stage, campaign, segment, channel, business, at.strftime("%Y-%m-%d %H:%M:%S.%f")))
                if len(batch) == 50_000:
                    raw.executemany(sql, batch)
                    batch.clear()
            raw.executemany(sql, batch)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE outreach_funnel")  # what autovacuum does soon after
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return time.perf_counter() - started


async def timed(runs: int, work: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    """The median of `runs` timings (after one warm-up run) and the last result."""
    result = await work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


async def measure(url: str, runs: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        async def count_all() -> object:
            return await session.scalar(select(func.count()).select_from(FunnelEvent))

        async def by_all() -> object:
            return await funnel(session)

        async def one_campaign() -> object:
            return await funnel(session, campaign_id=17)

        async def one_week() -> object:
            return await funnel(session, since=START + timedelta(days=28), until=START + timedelta(days=35),
                                group_by=("channel", "business"))

        async def by_channel() -> object:
            return await funnel(session, group_by=("channel",))

        baseline, total = await timed(runs, count_all)
        print(f"  baseline COUNT(*) over {total:,} events: {baseline * 1000:8.1f} ms")
        for name, work in (("funnel by campaign×segment×channel×business", by_all),
                           ("funnel by channel", by_channel),
                           ("funnel of one campaign", one_campaign),
                           ("funnel of one week by channel×business", one_week)):
            median, rows = await timed(runs, work)
            verdict = "ok" if median < 1 else "OVER 1 s"
            print(f"  {name:<46} {median * 1000:8.1f} ms  ({len(rows):,} rows; "  # type: ignore[arg-type]
                  f"{median / baseline if baseline else 0:.1f}× baseline) {verdict}")
    await engine.dispose()


def reset_postgres(url: str) -> None:
    engine = create_engine(normalise_db_url(url, sync=True), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def run(url: str, label: str, count: int, runs: int) -> None:
    migrate(url)
    seconds = bulk_insert(url, count)
    print(f"{label}: {count:,} events inserted in {seconds:.1f} s ({count / seconds:,.0f}/s)")
    asyncio.run(measure(url, runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=os.environ.get("TEST_POSTGRES_URL", ""),
                        help="a scratch PostgreSQL database (its schema is dropped)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpf-bench-funnel-") as scratch:
        run(f"sqlite+aiosqlite:///{Path(scratch) / 'funnel.db'}", "SQLite", args.events, args.runs)
    if args.database_url:
        reset_postgres(args.database_url)
        run(args.database_url, "PostgreSQL", args.events, args.runs)


if __name__ == "__main__":
    main()
