"""The agents' standing on fixed data (SQLite and PostgreSQL, a frozen clock): the score and its parts,
suspension by a low score and by verified bad ratings, the duty gate (403 agent_suspended), appeal,
re-admission, the leaderboard (no citizen data) and the monthly performance sheet."""
from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from agent_console.context import Console
from agent_console.events import agent_topic
from agent_console.models import Shift
from agent_console.routes import duty as duty_routes
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from ratings import standing, suspensions
from ratings.cases import CaseChanged
from ratings.context import Ratings
from ratings.events import TOPIC, RatingNew
from ratings.models import RectificationCase, Suspension
from ratings.routes import standing as standing_routes
from ratings.standing_watch import StandingWatch
from staff import passwords
from staff.models import Agent, AuditEntry, Role
from tests.agent_console.helpers import CHEAP_HASHER
from tests.callout.helpers import FrozenClock, client, local, service_app, staff_login
from tests.ratings import ratings_standing_seed as seed

NOW = local(2026, 12, 7, 10, 0)  # a Monday morning


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@dataclass
class Desk:
    ratings: Ratings
    console: Console
    bus: LocalBus
    clock: FrozenClock
    api: httpx.AsyncClient

    async def person(self, name: str, role: Role = Role.AGENT, department: str | None = None) -> tuple[int, dict]:
        agent_id, headers = await staff_login(self.ratings, name, role)
        if department:
            async with self.ratings.sessions() as session:
                (await session.get_one(Agent, agent_id)).department = department
                await session.commit()
        return agent_id, headers

    async def rate(self, agent_id: int, level: int, *, days_ago: float = 1, **case: bool) -> None:
        await seed.rate(self.ratings, agent_id, level, self.clock.now() - timedelta(days=days_ago), **case)

    async def suspensions_of(self, agent_id: int) -> list[Suspension]:
        async with self.ratings.sessions() as session:
            rows = await session.scalars(select(Suspension).where(Suspension.agent_id == agent_id)
                                         .order_by(Suspension.id))
            return list(rows.all())

    async def actions(self, prefix: str) -> list[str]:
        async with self.ratings.sessions() as session:
            rows = await session.scalars(select(AuditEntry.action).where(AuditEntry.action.startswith(prefix))
                                         .order_by(AuditEntry.id))
            return list(rows.all())


@pytest.fixture
async def desk(database_url, tmp_path):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    bus = LocalBus()
    clock = FrozenClock(NOW)
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    bot = RasaClient("http://127.0.0.1:9", timeout_s=0.5)  # never asked: no conversation here reaches the bot
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=0.5)
    console = Console(settings=settings, sessions=sessions, bus=bus, hub=hub, bot=bot, knowledge=None)
    ratings = Ratings(settings=settings, sessions=sessions, bus=bus, clock=clock)
    console.register_duty_gate(lambda agent_id: suspensions.gate(ratings, agent_id))
    app = service_app(settings, sessions, (Console, console), (Ratings, ratings),
                      routers=[standing_routes.router, duty_routes.router])
    async with client(app) as api:
        yield Desk(ratings=ratings, console=console, bus=bus, clock=clock, api=api)
    await bot.close()
    await engine.dispose()


async def low_scorer(desk: Desk, name: str = "wang") -> tuple[int, dict]:
    """The fixed data of `seed.low_scorer` for a new agent (score 50.4) and a colleague."""
    agent_id, headers = await desk.person(name, department="客服中心")
    colleague_id, _ = await desk.person(f"{name}-colleague")
    await seed.low_scorer(desk.ratings, agent_id, colleague_id, desk.clock.now())
    return agent_id, headers


async def test_score_on_fixed_data(desk):
    agent_id, _ = await low_scorer(desk)
    since, until = standing.window(desk.ratings.settings, desk.clock.now())
    async with desk.ratings.sessions() as session:
        figures = (await standing.gather(session, since, until))[agent_id]
    assert figures.levels == {5: 2, 4: 1, 3: 0, 2: 1, 1: 1}
    assert (figures.ratings, figures.marked, figures.verified_bad) == (5, 1, 1)
    assert (figures.first_response_s, figures.handling_s, figures.grabs, figures.handled) == (30.0, 900.0, 2, 2)
    score = standing.compute(figures, desk.ratings.settings)
    # ratings (10+10+8+3+0)/5 × 10 = 62; response 30 s at a 30 s target = 100; handling 600/900 = 66.67;
    # grabs 2/20 = 10; (60×62 + 15×100 + 10×66.67 + 15×10)/100 = 60.367, less 10 for one verified bad.
    assert score.parts == {"ratings": 62.0, "response": 100.0, "handling": 66.67, "grabs": 10.0}
    assert score.penalty == 10.0
    assert score.value == 50.4


async def test_no_figures_no_score(desk):
    assert standing.compute(standing.Figures(1), desk.ratings.settings).value is None


async def test_low_score_suspends_takes_off_duty_and_refuses_duty(desk):
    agent_id, headers = await low_scorer(desk)
    assert (await desk.api.post("/api/v1/console/duty", json={"minutes": 60}, headers=headers)).status_code == 200
    async with desk.bus.subscribe(agent_topic(agent_id)) as events:
        made = await suspensions.check_agent(desk.ratings, desk.console, agent_id)
        seen = [await asyncio.wait_for(anext(events), 1) for _ in range(2)]
    assert made is not None and made.rule == "low_score" and made.score == 50.4
    assert made.detail["parts"]["ratings"] == 62.0
    assert {event.type for event in seen} == {"duty", "standing.suspension"}
    notice = next(event for event in seen if event.type == "standing.suspension")
    assert notice.state == "suspended" and "暂停" in notice.message
    async with desk.ratings.sessions() as session:
        shift = await session.scalar(select(Shift).where(Shift.agent_id == agent_id))
    assert shift.state == "ended" and shift.end_reason == "suspended"

    refused = await desk.api.post("/api/v1/console/duty", json={"minutes": 60}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "agent_suspended" and "暂停" in refused.json()["message"]
    # Checked again (another process, the next period): still one suspension.
    assert await suspensions.check_agent(desk.ratings, desk.console, agent_id) is None
    assert len(await desk.suspensions_of(agent_id)) == 1
    mine = (await desk.api.get("/api/v1/console/standing/me", headers=headers)).json()
    assert mine["me"]["suspension"]["id"] == made.id and mine["me"]["score"] == 50.4
    assert "standing_suspend" in await desk.actions("standing_")


async def test_too_few_ratings_do_not_suspend(desk):
    agent_id, _ = await desk.person("li")
    for level in (1, 1, 2, 1):  # four ratings, no verified one: below the minimum of five
        await desk.rate(agent_id, level)
    assert await suspensions.check_agent(desk.ratings, desk.console, agent_id) is None


async def test_verified_bad_ratings_suspend_even_with_a_good_score(desk):
    # 20 × 非常满意 and two verified 不满意 score (60 × 93.64 + 15 × 0 grabs) / 75 − 20 = 54.9: the score line
    # is put lower here, so only the count of verified bad ratings can suspend.
    desk.ratings.settings = desk.ratings.settings.model_copy(update={"standing_min_score": 40})
    agent_id, _ = await desk.person("zhao")
    for _ in range(20):
        await desk.rate(agent_id, 5)
    for _ in range(2):
        await desk.rate(agent_id, 2, verified=True)
    await desk.rate(agent_id, 1, upheld=True)  # an upheld appeal: never counts
    assert await suspensions.check_agent(desk.ratings, desk.console, agent_id) is None
    await desk.rate(agent_id, 1, verified=True)
    made = await suspensions.check_agent(desk.ratings, desk.console, agent_id)
    assert made is not None and made.rule == "verified_bad" and made.detail["verified_bad"] == 3


async def test_appeal_readmission_and_duty_again(desk):
    agent_id, headers = await low_scorer(desk)
    _other, other_headers = await desk.person("sun")
    _boss, boss = await desk.person("boss", Role.SUPERVISOR)
    made = await suspensions.check_agent(desk.ratings, desk.console, agent_id)
    url = f"/api/v1/console/standing/suspensions/{made.id}"

    assert (await desk.api.post(f"{url}/appeal", json={"note": "不是我"}, headers=other_headers)).status_code == 404
    assert (await desk.api.post(f"{url}/appeal", json={"note": "  "}, headers=headers)).json()["code"] == "note_invalid"
    appealed = await desk.api.post(f"{url}/appeal", json={"note": "差评系市民误评，通话录音可证"}, headers=headers)
    assert appealed.status_code == 200 and appealed.json()["appeal_note"].startswith("差评系")
    again = await desk.api.post(f"{url}/appeal", json={"note": "再次申诉"}, headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "already_appealed"

    assert (await desk.api.post(f"{url}/decide", json={"decision": "readmit"}, headers=headers)).status_code == 403
    listed = (await desk.api.get("/api/v1/console/standing", headers=boss)).json()
    assert listed["suspensions"][0]["id"] == made.id and listed["suspensions"][0]["appeal_note"]
    readmitted = await desk.api.post(f"{url}/decide", json={"decision": "readmit", "note": "申诉成立"}, headers=boss)
    assert readmitted.status_code == 200 and readmitted.json()["state"] == "readmitted"
    twice = await desk.api.post(f"{url}/decide", json={"decision": "uphold"}, headers=boss)
    assert twice.status_code == 409 and twice.json()["code"] == "suspension_decided"

    late = await desk.api.post(f"{url}/appeal", json={"note": "补充"}, headers=headers)
    assert late.status_code == 409 and late.json()["code"] == "suspension_decided"
    missing = await desk.api.post("/api/v1/console/standing/suspensions/99999/decide", json={"decision": "readmit"},
                                  headers=boss)
    assert missing.status_code == 404 and missing.json()["code"] == "suspension_not_found"

    on_duty = await desk.api.post("/api/v1/console/duty", json={"minutes": 60}, headers=headers)
    assert on_duty.status_code == 200 and on_duty.json()["state"] == "on_duty"
    # A re-admitted agent starts afresh: the same old ratings do not suspend them again.
    desk.clock.advance(hours=1)
    assert await suspensions.check_agent(desk.ratings, desk.console, agent_id) is None
    assert await desk.actions("standing_") == ["standing_suspend", "standing_appeal", "standing_readmit"]


async def test_uphold_keeps_off_duty_then_readmit(desk):
    agent_id, headers = await desk.person("zhou")
    _boss, boss = await desk.person("boss", Role.SUPERVISOR)
    made = await desk.api.post(f"/api/v1/console/standing/agents/{agent_id}/suspend", json={"note": "多次投诉"},
                               headers=boss)
    assert made.status_code == 201 and made.json()["rule"] == "manual"
    suspension_id = made.json()["id"]
    assert (await desk.api.post(f"/api/v1/console/standing/agents/{agent_id}/suspend", json={"note": "再次"},
                                headers=boss)).json()["code"] == "already_suspended"
    assert (await desk.api.post("/api/v1/console/standing/agents/99999/suspend", json={"note": "x"},
                                headers=boss)).status_code == 404
    assert (await desk.api.post(f"/api/v1/console/standing/agents/{agent_id}/suspend", json={"note": "x"},
                                headers=headers)).status_code == 403
    url = f"/api/v1/console/standing/suspensions/{suspension_id}/decide"
    upheld = await desk.api.post(url, json={"decision": "uphold", "note": "维持"}, headers=boss)
    assert upheld.status_code == 200 and upheld.json()["state"] == "upheld"
    assert (await desk.api.post("/api/v1/console/duty", json={"minutes": 30}, headers=headers)).status_code == 403
    assert (await desk.api.post(url, json={"decision": "maybe"}, headers=boss)).status_code == 422
    assert (await desk.api.post(url, json={"decision": "readmit"}, headers=boss)).json()["state"] == "readmitted"
    assert (await desk.api.post("/api/v1/console/duty", json={"minutes": 30}, headers=headers)).status_code == 200


async def test_leaderboard_shows_names_and_scores_only(desk):
    agent_id, headers = await low_scorer(desk)
    best, best_headers = await desk.person("best")
    for _ in range(5):
        await desk.rate(best, 5)
    board = await desk.api.get("/api/v1/console/leaderboard", headers=best_headers)
    assert board.status_code == 200
    rows = board.json()["agents"]
    assert rows[0] == {"rank": 1, "display_name": "best", "score": 80.0, "ratings": 5, "me": True}
    wang = next(row for row in rows if row["display_name"] == "wang")
    assert wang["rank"] == 2 and wang["score"] == 50.4 and wang["me"] is False
    assert all(set(row) == {"rank", "display_name", "score", "ratings", "me"} for row in rows)
    text = board.text
    assert seed.CITIZEN not in text and "市民的话" not in text and "agent_id" not in text
    assert (await desk.api.get("/api/v1/console/leaderboard?month=2026-13", headers=headers)).json()["code"] == \
        "month_invalid"
    december = (await desk.api.get("/api/v1/console/leaderboard?month=2026-12", headers=headers)).json()
    assert december["period"] == "2026-12"
    # Only ratings from 1 December (Shanghai) on: the fixed data's ratings of yesterday count, the old one not.
    assert next(row for row in december["agents"] if row["display_name"] == "wang")["ratings"] == 5
    assert (await desk.api.get("/api/v1/console/standing", headers=headers)).status_code == 403


async def test_monthly_sheet_figures_and_exports(desk):
    agent_id, agent_headers = await low_scorer(desk)
    await desk.person("idle", department="城东管理部")
    _boss, boss = await desk.person("boss", Role.SUPERVISOR, department="客服中心")
    made = await suspensions.check_agent(desk.ratings, desk.console, agent_id)
    assert made is not None
    assert (await desk.api.get("/api/v1/console/standing/sheet?month=2026-12", headers=agent_headers)).status_code == 403
    sheet = (await desk.api.get("/api/v1/console/standing/sheet?month=2026-12", headers=boss)).json()
    wang = next(row for row in sheet["agents"] if row["display_name"] == "wang")
    assert wang["levels"] == {"5": 2, "4": 1, "3": 0, "2": 1, "1": 1}
    assert (wang["ratings"], wang["marked"], wang["verified_bad"], wang["mean_score"]) == (5, 1, 1, 6.2)
    assert (wang["first_response_s"], wang["handling_s"], wang["grabs"], wang["handled"]) == (30.0, 900.0, 2, 2)
    assert (wang["score"], wang["suspensions"], wang["department"]) == (50.4, 1, "客服中心")
    centre = next(row for row in sheet["departments"] if row["department"] == "客服中心")
    assert centre["ratings"] == 5 and centre["agents"] == 2 and centre["score"] == 50.4  # boss has no score
    colleague = next(row for row in sheet["departments"] if row["department"] == "未分配")
    assert colleague["ratings"] == 1 and colleague["verified_bad"] == 1

    november = (await desk.api.get("/api/v1/console/standing/sheet?month=2026-11", headers=boss)).json()
    assert next(row for row in november["agents"] if row["display_name"] == "wang")["ratings"] == 1  # 31 days ago

    as_csv = await desk.api.get("/api/v1/console/standing/sheet?month=2026-12&format=csv", headers=boss)
    assert as_csv.status_code == 200 and as_csv.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0][:4] == ["范围", "名称", "部门", "评价数"]
    row = next(line for line in lines if line[1] == "wang")
    assert row[3] == "5" and row[lines[0].index("常态评分")] == "50.4"
    as_xlsx = await desk.api.get("/api/v1/console/standing/sheet?month=2026-12&format=xlsx", headers=boss)
    book = load_workbook(io.BytesIO(as_xlsx.content), read_only=True)
    assert book.sheetnames == ["坐席 2026-12", "部门 2026-12"]
    assert await desk.actions("standing_sheet") == ["standing_sheet_export", "standing_sheet_export"]
    bad = await desk.api.get("/api/v1/console/standing/sheet?month=12-2026", headers=boss)
    assert bad.status_code == 422 and bad.json()["code"] == "month_invalid"


async def test_a_rating_on_the_bus_runs_the_rules(desk):
    agent_id, _ = await low_scorer(desk)
    watch = StandingWatch(desk.ratings, desk.console)
    watch.start()
    try:
        await asyncio.sleep(0.05)  # subscribed
        await desk.bus.publish(TOPIC, RatingNew(rating_id=1, level=1, channel="app", kind="agent", agent_id=agent_id,
                                                bad=True))
        for _ in range(100):
            if await desk.suspensions_of(agent_id):
                break
            await asyncio.sleep(0.05)
    finally:
        await watch.stop()
    assert [s.rule for s in await desk.suspensions_of(agent_id)] == ["low_score"]


async def test_a_verification_on_the_bus_runs_the_rules(desk):
    desk.ratings.settings = desk.ratings.settings.model_copy(update={"standing_min_score": 0})
    agent_id, _ = await desk.person("qian")
    for _ in range(2):
        await desk.rate(agent_id, 2, verified=True)
    await desk.rate(agent_id, 1, case=True)
    async with desk.ratings.sessions() as session:
        case = await session.scalar(select(RectificationCase).where(RectificationCase.verified_at.is_(None)))
        case.verified_at = desk.clock.now()  # as ratings.cases.verify does
        await session.commit()
        case_id = case.id
    watch = StandingWatch(desk.ratings, desk.console)
    watch.start()
    try:
        await asyncio.sleep(0.05)
        await desk.bus.publish(TOPIC, CaseChanged(case_id=case_id, status="verified"))
        for _ in range(100):
            if await desk.suspensions_of(agent_id):
                break
            await asyncio.sleep(0.05)
    finally:
        await watch.stop()
    assert [s.rule for s in await desk.suspensions_of(agent_id)] == ["verified_bad"]


def test_ranks_share_equal_scores() -> None:
    assert standing.ranks({1: 90.0, 2: 80.0, 3: 80.0, 4: 70.0, 5: None}) == {1: 1, 2: 2, 3: 2, 4: 4, 5: None}


def test_month_boundaries_are_the_centres() -> None:
    from ratings.sheet import Month

    month = Month.parse("2026-12")
    assert month.since == local(2026, 12, 1) and month.until == local(2027, 1, 1)
    assert isinstance(month.since, datetime)
