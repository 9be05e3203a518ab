"""Campaign preparation benchmark: a draft SMS campaign prepared from --matches people (default 50,000)
the could-borrow segment finds among synthetic depositors (outreach.synthetic's export files, shared with
bench.outreach_segments), on SQLite, each case on a fresh database. Each recipient is linked to their
citizen and given a personal link, as POST /api/v1/campaigns/from-segment does.

After: link_citizens as shipped (chunks of 500, a few statements each). Before, in the same run: the
former one-by-one linking (several statements per person, copied below as it was) on the first
--before matches (default 3,000), extrapolated per recipient to the full size; the shipped code on the
same --before matches is the like-for-like comparison. Only the preparation is timed: the matches are
read and evaluated first.

    python -m bench.outreach_prepare [--matches 50000] [--before 3000] [--data data/bench]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from itertools import islice
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.outreach_segments import AS_OF, generate
from callout import segment_campaigns
from callout.context import Callout
from conversations.models import Channel, Citizen, Identity, new_id
from core.db import make_engine, make_sessionmaker, migrate
from core.settings import ROOT, Settings
from outreach.centre_data import open_source
from outreach.identities import LinkWanted, link_citizens
from outreach.models import DepositorLink
from outreach.segments import Match, evaluate, load_segments
from policy.loan_params import load_params
from staff import accounts
from staff.audit import SYSTEM, Actor
from staff.context import Staff
from staff.models import Role

SEGMENT = "could-borrow"  # about half of all depositors: enough matches from few generated rows
SECRET = "bench-session-secret-0123456789abcdef"
Linker = Callable[[AsyncSession, Sequence[LinkWanted]], Awaitable[dict[str, str]]]


async def one_by_one(session: AsyncSession, people: Sequence[LinkWanted]) -> dict[str, str]:
    """The former linking, one person at a time, kept here as the baseline."""
    found: dict[str, str] = {}
    for person in people:
        found[person.depositor_ref] = await _former_link_citizen(session, person)
    return found


async def _former_link_citizen(session: AsyncSession, person: LinkWanted) -> str:
    wanted = [(kind, value) for kind, value in ((Channel.APP, person.app_user_id),
                                                (Channel.WECHAT, person.wechat_openid),
                                                (Channel.PHONE, person.mobile)) if value]
    linked = await session.get(DepositorLink, person.depositor_ref)
    holders: dict[tuple[Channel, str], str] = {}
    for kind, value in wanted:
        citizen = await session.scalar(
            select(Identity.citizen_id).where(Identity.kind == str(kind), Identity.value == value))
        if citizen is not None:
            holders[(kind, value)] = citizen
    if linked is not None:
        citizen_id = linked.citizen_id
    else:
        known = next((holders[key] for key in wanted if key in holders), None)
        citizen_id = known or new_id()
        if known is None:
            session.add(Citizen(id=citizen_id))
            await session.flush()
        session.add(DepositorLink(depositor_ref=person.depositor_ref, citizen_id=citizen_id))
    for kind, value in wanted:
        if (kind, value) not in holders:
            session.add(Identity(citizen_id=citizen_id, kind=str(kind), value=value))
    await session.flush()
    return citizen_id


def read_matches(folder: Path, count: int) -> list[Match]:
    settings = Settings(centre_data_dir=folder, centre_data_url="")
    params = load_params(ROOT / "policy" / "params" / "loan.yml")
    segment = load_segments(ROOT / "policy" / "segments", ROOT / "policy" / "params")[SEGMENT]
    found = evaluate(segment, open_source(settings), params=params, rates=params.rate_entry(AS_OF), secret=SECRET,
                     today=AS_OF)
    return list(islice((match for match in found if match.mobile), count))


async def prepare(matches: list[Match], linker: Linker) -> tuple[float, float, int]:
    """Seconds for the whole preparation, seconds of it spent linking, recipients, on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="bench-prepare-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        settings = Settings(data_dir=Path(tmp), database_url=url, session_secret=SECRET)
        planner = await accounts.create(Staff(settings=settings, sessions=sessions), username="planner",
                                        password="bench-password-1234", role=Role.CAMPAIGNER, capacity=1,
                                        actor=SYSTEM)
        segment = load_segments(ROOT / "policy" / "segments", ROOT / "policy" / "params")[SEGMENT]
        linking = 0.0

        async def timed(session: AsyncSession, people: Sequence[LinkWanted]) -> dict[str, str]:
            nonlocal linking
            started = time.perf_counter()
            try:
                return await linker(session, people)
            finally:
                linking += time.perf_counter() - started

        shipped = segment_campaigns.link_citizens
        segment_campaigns.link_citizens = timed
        try:
            started = time.perf_counter()
            made = await segment_campaigns.prepare_reported(
                Callout(settings=settings, sessions=sessions), Actor(planner.id, "planner", "campaigner"),
                segment=segment, matches=matches, channel="sms", name="公积金可贷额度提醒", created_by=planner.id)
            seconds = time.perf_counter() - started
        finally:
            segment_campaigns.link_citizens = shipped
            await engine.dispose()
        return seconds, linking, made.matched - made.without_mobile


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outreach_prepare", description=__doc__)
    parser.add_argument("--matches", type=int, default=50_000)
    parser.add_argument("--before", type=int, default=3_000)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "bench")
    args = parser.parse_args()
    depositors = max(100_000, args.matches * 2)  # could-borrow matches about half of them
    folder = args.data / f"centre-{depositors}"
    generate(depositors, folder)
    started = time.perf_counter()
    matches = read_matches(folder, args.matches)
    print(f"{len(matches):,} {SEGMENT} matches with a mobile read in {time.perf_counter() - started:.1f} s "
          f"(not timed below)")
    small = matches[:args.before]
    cases = [(f"before: one by one, {len(small):,}", small, one_by_one),
             (f"after: link_citizens, {len(small):,}", small, link_citizens),
             (f"after: link_citizens, {len(matches):,}", matches, link_citizens)]
    print(f"\n{'draft campaign from ' + SEGMENT + ' (SQLite)':44} {'recipients':>10} {'total s':>8} "
          f"{'linking s':>9} {'recipients/s':>12}")
    rates: dict[str, float] = {}
    for label, people, linker in cases:
        seconds, linking, recipients = asyncio.run(prepare(people, linker))
        rates[label] = recipients / seconds
        print(f"{label:44} {recipients:>10,} {seconds:>8.1f} {linking:>9.1f} {rates[label]:>12,.0f}")
    before = rates[cases[0][0]]
    after = rates[cases[2][0]]
    print(f"\nbefore, extrapolated to {len(matches):,}: about {len(matches) / before:.0f} s "
          f"({before:,.0f} recipients/s); after: {len(matches) / after:.1f} s ({after:,.0f} recipients/s), "
          f"{after / before:.0f}× faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
