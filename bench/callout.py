"""Outbound-call benchmark against the fake Twilio (fakes/twilio.py), in one process:

- the upload: a CSV of N recipients read, checked row by row and stored as a draft campaign;
- dispatch: the dialer at the configured calls per second for a while (the rate the fake Twilio saw,
  per second and overall), and the process's memory while it runs (it must not grow with the audience);
- a status callback → the campaign's counts moving: the signed callback posted to the service's route,
  then GET /api/v1/campaigns/{id} until the answered count shows it (p50/p99).

    python -m bench.callout [--recipients 100000] [--cps 10] [--seconds 30] [--callbacks 200]
                            [--database-url postgresql://…]   (its schema is dropped: a scratch database)
"""
from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from fastapi import FastAPI
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.stats import percentile
from callout import campaigns, uploads
from callout.context import Callout, NoQueue
from callout.dialer import Dialer
from callout.models import Attempt
from callout.provider import TwilioProvider
from callout.routes import ROUTERS
from callout.schemas import CampaignSpec
from core.clock import SystemClock
from core.db import make_engine, make_sessionmaker, migrate, utcnow
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings, normalise_db_url
from fakes.twilio import FakeTwilio
from staff import auth
from staff.auth import Me
from staff.context import Staff
from staff.models import Agent, Role

PASSWORD = "bench-pass-1"
EVERY_MINUTE = {"windows": [{"start": "00:00", "end": "23:59"}],
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "call_on_holidays": True}


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def audience_csv(count: int) -> bytes:
    out = io.StringIO()
    out.write("手机号,姓名,amount\n")
    for n in range(count):
        out.write(f"139{n:08d},市民{n},{1000 + n % 5000}\n")
    return out.getvalue().encode()


async def staff_member(sessions: async_sessionmaker, username: str, role: Role) -> Me:
    from argon2 import PasswordHasher

    async with sessions() as session:
        agent_id = (await session.execute(insert(Agent).values(
            username=username, display_name=username, role=role, capacity=3, skills=[], active=True,
            password_hash=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD),
            created_at=utcnow()).returning(Agent.id))).scalar_one()
        await session.commit()
    return Me(id=agent_id, username=username, display_name=username, role=role, capacity=3, skills=(),
              phone=None, session_id="bench", ip=None)


def service_app(callout: Callout) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, callout.settings)
    services.provide(async_sessionmaker, callout.sessions)
    services.provide(Callout, callout)
    for router in ROUTERS:
        app.include_router(router)
    return app


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-callout-"))
    url = args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    if args.database_url:
        from sqlalchemy import create_engine, text

        sync = create_engine(normalise_db_url(url, sync=True))
        with sync.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        sync.dispose()
    migrate(url)
    with FakeTwilio() as twilio:
        settings = Settings(data_dir=folder, database_url=url, twilio_account_sid=twilio.account_sid,
                            twilio_auth_token=twilio.auth_token, twilio_api_base=twilio.url,
                            twilio_caller_id="+861088880000", public_base_url="https://hotline.example.gov.cn")
        engine = make_engine(url)
        callout = Callout(settings=settings, sessions=make_sessionmaker(engine), clock=SystemClock(), queue=NoQueue(),
                          provider=TwilioProvider(settings))
        planner = await staff_member(callout.sessions, "planner", Role.CAMPAIGNER)
        lead = await staff_member(callout.sessions, "lead", Role.SUPERVISOR)

        # -- the upload ---------------------------------------------------------------------------------
        content = audience_csv(args.recipients)
        spec = CampaignSpec(name="基准", message="{name}您好，您本月应还{amount}元。", calls_per_second=args.cps,
                            max_concurrent=500, max_attempts=1, **EVERY_MINUTE)
        before = rss_mb()
        started = time.perf_counter()
        header, rows = uploads.read_file("名单.csv", content)
        campaign, _suppressed, rejected = await campaigns.create(callout, planner, spec, header, rows)
        upload_s = time.perf_counter() - started
        print(f"upload of {args.recipients:,} recipients ({len(content) / 2**20:.1f} MB CSV): read, checked and "
              f"stored in {upload_s:.1f} s ({args.recipients / upload_s:,.0f} rows/s), {len(rejected)} rejected, "
              f"memory {before:.0f} → {rss_mb():.0f} MB")
        del content, rows
        await campaigns.approve(callout, lead, campaign.id)
        await campaigns.start(callout, planner, campaign.id)

        # -- dispatch -----------------------------------------------------------------------------------
        dialer = Dialer(callout)
        memory: list[float] = []

        async def sample() -> None:
            while True:
                memory.append(rss_mb())
                await asyncio.sleep(1)

        sampler = asyncio.create_task(sample())
        begin = time.monotonic()
        while time.monotonic() - begin < args.seconds:
            again = await dialer.dispatch(campaign.id, budget_s=min(5.0, args.seconds - (time.monotonic() - begin)))
            if again is None:
                break
        sampler.cancel()
        times = [call.at for call in twilio.calls]
        span = times[-1] - times[0]
        rate = (len(times) - 1) / span if span > 0 else float("nan")
        per_second = [sum(1 for t in times if int(t - times[0]) == s) for s in range(int(span))]
        print(f"dispatch at {args.cps:g} calls/s for {args.seconds} s: {len(times)} calls, {rate:.2f} calls/s overall "
              f"({(rate / args.cps - 1) * 100:+.1f}%), whole seconds {min(per_second, default=0)}–"
              f"{max(per_second, default=0)} calls")
        print(f"memory while dispatching: {memory[0]:.0f} → {max(memory):.0f} MB "
              f"(+{max(memory) - memory[0]:.1f} MB over {len(times)} calls; audience {args.recipients:,})")

        # -- a status callback → the counts ---------------------------------------------------------------
        app = service_app(callout)
        _agent, token, _csrf = await auth.login(Staff(settings=settings, sessions=callout.sessions), "planner",
                                                PASSWORD, None)
        headers = {"Authorization": f"Bearer {token}"}
        async with callout.sessions() as session:
            placed = (await session.execute(select(Attempt.id, Attempt.call_sid).where(
                Attempt.call_sid.is_not(None)).order_by(Attempt.id).limit(args.callbacks))).all()
        waits: list[float] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            shown = await client.get(f"/api/v1/campaigns/{campaign.id}", headers=headers)
            answered = shown.json()["counts"]["answered"]
            for attempt_id, call_sid in placed:
                url = f"{settings.public_base_url}/callout/twilio/status?a={attempt_id}"
                params = {"CallSid": call_sid, "AccountSid": twilio.account_sid, "CallStatus": "completed",
                          "CallDuration": "30", "To": "+8613900000000", "From": "+861088880000"}
                sent = time.perf_counter()
                await client.post(url.removeprefix(settings.public_base_url), data=params,
                                  headers={"X-Twilio-Signature": twilio.sign(url, params)})
                while (await client.get(f"/api/v1/campaigns/{campaign.id}",
                                        headers=headers)).json()["counts"]["answered"] <= answered:
                    pass
                answered += 1
                waits.append((time.perf_counter() - sent) * 1000)
        print(f"status callback → counts moved ({args.recipients:,} recipients): p50 "
              f"{percentile(waits, 50):.1f} ms, p99 {percentile(waits, 99):.1f} ms, max {max(waits):.1f} ms, "
              f"n={len(waits)}; p99 under 1 s: {'yes' if percentile(waits, 99) < 1000 else 'NO'}")
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--cps", type=float, default=10.0, help="the campaign's calls per second")
    parser.add_argument("--seconds", type=int, default=30, help="how long to dispatch")
    parser.add_argument("--callbacks", type=int, default=200)
    parser.add_argument("--database-url", default="", help="a scratch PostgreSQL database (default: SQLite)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
