"""Rectification cases on SQLite and PostgreSQL with a frozen clock: the whole workflow across the 国庆
holiday and its 调休 Saturday, the citizen's follow-up rating through the hub, the stable list endpoint,
stale steps, the agent's appeal (rejected and upheld), escalation twice, closing without a follow-up,
and who may see and do what."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from conversations.bot_client import RasaClient
from conversations.hub import Hub
from conversations.inbound import CitizenKey, Inbound
from conversations.models import Author, Channel, Conversation, Message
from conversations.replies import Reply
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from fakes.rasa import FakeRasa
from ratings import cases
from ratings.context import Ratings
from ratings.events import TOPIC
from ratings.follow_up import FollowUps
from ratings.models import CaseStep, Rating, RectificationCase
from ratings.record import record_rating
from ratings.routes import cases as case_routes
from staff import passwords
from staff.models import Agent, AuditEntry, Role
from tests.agent_console.helpers import CHEAP_HASHER
from tests.callout.helpers import FrozenClock, client, local, service_app, staff_login
from tests.databases import postgres_database

# Wednesday before the National Day holiday (10-01..10-07; Saturday 10-10 is a working day).
OPENED = local(2026, 9, 30, 10, 0)
BASE = "/api/v1/console/ratings/cases"


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture(scope="session")
def suite_postgres_url(postgres_url: str) -> str:
    return postgres_database(postgres_url, "ratings_cases")


@pytest.fixture(scope="module")
def rasa():
    with FakeRasa() as fake:
        yield fake


@dataclass
class Desk:
    ratings: Ratings
    hub: Hub
    bus: LocalBus
    clock: FrozenClock
    api: httpx.AsyncClient
    events: list = field(default_factory=list)
    serial: int = 0

    async def person(self, name: str, role: Role = Role.AGENT) -> tuple[int, dict[str, str]]:
        return await staff_login(self.ratings, name, role)

    async def bad_rating(self, agent_id: int | None, *, level: int = 2, channel: str = "app",
                         conversation: Conversation | None = None, business: str = "loan-apply") -> int:
        """A bad rating through the one door every channel uses; the id of the case it opened."""
        self.serial += 1
        async with self.ratings.sessions() as session:
            rating = await record_rating(
                self.ratings, session, event_key=f"test:{self.serial}", kind="agent", channel=channel,
                level=level, reasons=["态度不好"], comment="<script>alert(1)</script>等了很久", business=business,
                agent_id=agent_id, citizen_id=conversation.citizen_id if conversation else None,
                conversation_id=conversation.id if conversation else None)
            return (await session.scalar(select(RectificationCase.id)
                                         .where(RectificationCase.rating_id == rating.id)))  # type: ignore[return-value]


@pytest.fixture
async def desk(database_url, tmp_path, rasa) -> AsyncIterator[Desk]:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    bus = LocalBus()
    bot = RasaClient(rasa.url, timeout_s=1.0)
    hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=1.0)
    clock = FrozenClock(OPENED)
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    ratings = Ratings(settings=settings, sessions=sessions, bus=bus, clock=clock)
    hub.register_interceptor(FollowUps(ratings))
    app = service_app(settings, sessions, (Ratings, ratings), (Hub, hub), routers=[case_routes.router])
    events: list = []
    publish = bus.publish

    async def recorded(topic: str, event) -> None:  # what the wall and the supervisors' lists would hear
        if topic == TOPIC:
            events.append(event)
        await publish(topic, event)

    bus.publish = recorded  # type: ignore[method-assign]
    async with client(app) as api:
        yield Desk(ratings=ratings, hub=hub, bus=bus, clock=clock, api=api, events=events)
    await bot.close()
    await engine.dispose()


async def _steps(desk: Desk, case_id: int) -> list[str]:
    async with desk.ratings.sessions() as session:
        return list((await session.scalars(select(CaseStep.action).where(CaseStep.case_id == case_id)
                                           .order_by(CaseStep.id))).all())


async def test_the_whole_workflow_across_the_holiday(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-wang")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    conversation = await desk.hub.open_conversation(channel=Channel.APP, kind="app", value="user-1")
    case_id = await desk.bad_rating(agent_id, conversation=conversation)

    listed = (await desk.api.get(BASE, headers=boss)).json()["cases"]
    assert [c["id"] for c in listed] == [case_id]
    first = listed[0]
    assert {"id", "conversation_id", "level", "status", "due_at"} <= first.keys()
    assert first["conversation_id"] == conversation.id and first["level"] == 2 and first["status"] == "open"
    assert first["department"] == "贷款科"  # by the business: the agent has no department
    # Call back within one working day: 10-01..10-07 are the holiday, so the end of Thursday 10-08.
    assert first["callback_due_at"] == local(2026, 10, 8, 23, 59, 59).isoformat()
    # Five working days: 10-08, 10-09, Saturday 10-10 (调休), Monday 10-12, Tuesday 10-13.
    assert first["due_at"] == local(2026, 10, 13, 23, 59, 59).isoformat()

    detail = (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()
    assert detail["rating"]["comment"] == "<script>alert(1)</script>等了很久"  # kept as text, shown as text
    assert detail["rating"]["reasons"] == ["态度不好"]

    desk.clock.advance(days=1)
    assert (await desk.api.post(f"{BASE}/{case_id}/verify", json={"note": "录音核实：确有态度问题"},
                                headers=boss)).json()["status"] == "verified"
    stale = await desk.api.post(f"{BASE}/{case_id}/verify", json={}, headers=boss)
    assert stale.status_code == 409 and stale.json()["code"] == "case_state_changed"
    missed = await desk.api.post(f"{BASE}/{case_id}/call-back", json={"reached": False, "note": "未接通"},
                                 headers=boss)
    assert missed.json()["status"] == "verified"
    called = await desk.api.post(f"{BASE}/{case_id}/call-back", json={"note": "已致歉"}, headers=boss)
    assert called.json()["status"] == "called_back"
    too_early = await desk.api.post(f"{BASE}/{case_id}/reply", json={"text": "答复"}, headers=boss)
    assert too_early.status_code == 409
    assert (await desk.api.post(f"{BASE}/{case_id}/rectify", json={"note": "组织服务规范培训"},
                                headers=boss)).json()["status"] == "rectified"
    empty = await desk.api.post(f"{BASE}/{case_id}/reply", json={"text": "   "}, headers=boss)
    assert empty.status_code == 422 and empty.json()["code"] == "empty_message"
    replied = await desk.api.post(f"{BASE}/{case_id}/reply", json={"text": "您反映的问题已整改，感谢监督。"},
                                  headers=boss)
    assert replied.json()["status"] == "replied"

    async with desk.ratings.sessions() as session:
        sent = list((await session.scalars(select(Message).where(Message.conversation_id == conversation.id)
                                           .order_by(Message.id))).all())
    assert [m.text for m in sent[-2:]][0] == "您反映的问题已整改，感谢监督。"
    request = sent[-1]
    assert request.author == Author.SYSTEM
    assert [b["title"] for b in request.payload["buttons"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]

    # The citizen answers the follow-up with a digit: the case closes, and no second rating is made.
    turn = await desk.hub.receive(conversation, Inbound(channel=Channel.APP, citizen=CitizenKey("app", "user-1"),
                                                        text="4"))
    assert turn.replies and "感谢" in turn.replies[0].text
    closed = (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()
    assert closed["status"] == "closed" and closed["follow_up_level"] == 4
    async with desk.ratings.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Rating)) == 1
        audited = list((await session.scalars(select(AuditEntry.action)
                                              .where(AuditEntry.target == cases.target(case_id)))).all())
    assert await _steps(desk, case_id) == ["opened", "verified", "call_attempt", "called_back", "rectified",
                                           "replied", "follow_up"]
    assert len(audited) == 7
    # A later digit is the bot's again: no case is waiting.
    assert await FollowUps(desk.ratings)(conversation, Message(id=10**6, text="5"), "bot") is None


async def test_a_digit_in_a_talk_with_the_bot_is_not_the_follow_up(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-feng")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    conversation = await desk.hub.open_conversation(channel=Channel.APP, kind="app", value="user-2")
    case_id = await desk.bad_rating(agent_id, conversation=conversation)
    for step, body in (("verify", {}), ("call-back", {}), ("rectify", {}), ("reply", {"text": "已整改"})):
        await desk.api.post(f"{BASE}/{case_id}/{step}", json=body, headers=boss)
    citizen = CitizenKey("app", "user-2")
    await desk.hub.send(conversation.id, Channel.APP, Author.BOT, Reply(text="请选择：1. 提取 2. 贷款"))
    await desk.hub.receive(conversation, Inbound(channel=Channel.APP, citizen=citizen, text="1"))
    assert (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()["status"] == "replied"
    # A new conversation that starts with the digit answers the request.
    other = await desk.hub.open_conversation(channel=Channel.WEB, kind="app", value="user-2")
    turn = await desk.hub.receive(other, Inbound(channel=Channel.WEB, citizen=citizen, text="３"))
    assert turn.replies and "感谢" in turn.replies[0].text
    assert (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()["follow_up_level"] == 3


async def test_open_cases_come_first_and_filters(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-li")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    done = await desk.bad_rating(agent_id)
    async with desk.ratings.sessions() as session:
        await session.execute(RectificationCase.__table__.update().where(RectificationCase.id == done)
                              .values(status="closed"))
        await session.commit()
    later = await desk.bad_rating(agent_id, business="withdraw-rent")
    listed = (await desk.api.get(BASE, headers=boss)).json()["cases"]
    assert [c["id"] for c in listed] == [later, done]
    by_department = (await desk.api.get(BASE, params={"department": "提取科"}, headers=boss)).json()["cases"]
    assert [c["id"] for c in by_department] == [later]
    assert (await desk.api.get(BASE, params={"status": "closed"}, headers=boss)).json()["cases"][0]["id"] == done
    assert (await desk.api.get(BASE, params={"status": "nonsense"}, headers=boss)).status_code == 422
    desk.clock.at = local(2026, 10, 9, 9, 0)
    overdue = (await desk.api.get(BASE, params={"overdue": "true"}, headers=boss)).json()["cases"]
    assert [c["id"] for c in overdue] == [later]
    summary = (await desk.api.get(f"{BASE}/summary", headers=boss)).json()["departments"]
    assert summary == [{"department": "提取科", "open": 1, "overdue": 1, "escalation": 0}]


async def test_an_unrouted_rating_goes_to_the_agents_own_department(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-county")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    async with desk.ratings.sessions() as session:
        (await session.get_one(Agent, agent_id)).department = "武安市管理部"
        await session.commit()
    case_id = await desk.bad_rating(agent_id, business="loan-apply")
    assert (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()["department"] == "武安市管理部"


async def test_agents_see_and_appeal_only_their_own(desk: Desk) -> None:
    mine_id, mine = await desk.person("agent-zhao")
    other_id, other = await desk.person("agent-qian")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    case_id = await desk.bad_rating(mine_id)
    others = await desk.bad_rating(other_id)
    assert [c["id"] for c in (await desk.api.get(BASE, headers=mine)).json()["cases"]] == [case_id]
    hidden = await desk.api.get(f"{BASE}/{others}", headers=mine)
    assert hidden.status_code == 404 and hidden.json()["code"] == "case_not_found"
    assert (await desk.api.post(f"{BASE}/{others}/appeal", json={"note": "不是我"}, headers=mine)).status_code == 404
    refused = await desk.api.post(f"{BASE}/{case_id}/verify", json={}, headers=mine)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (await desk.api.post(f"{BASE}/{case_id}/appeal", json={"note": ""}, headers=mine)).status_code == 422

    # Appeal rejected: back where it was, the deadlines unchanged; one appeal per rating.
    await desk.api.post(f"{BASE}/{case_id}/verify", json={}, headers=boss)
    appealed = await desk.api.post(f"{BASE}/{case_id}/appeal", json={"note": "市民误评：业务本身不符合条件"},
                                   headers=mine)
    assert appealed.json()["status"] == "appeal" and appealed.json()["appeal"] == "pending"
    rejected = await desk.api.post(f"{BASE}/{case_id}/appeal/decision", json={"upheld": False, "note": "录音显示确有问题"},
                                   headers=boss)
    assert rejected.json()["status"] == "verified" and rejected.json()["appeal"] == "rejected"
    again = await desk.api.post(f"{BASE}/{case_id}/appeal", json={"note": "再申诉"}, headers=mine)
    assert again.status_code == 409 and again.json()["code"] == "appeal_already_made"

    # Appeal upheld: the rating is marked, never deleted, and the case closes.
    upheld = await desk.api.post(f"{BASE}/{others}/appeal", json={"note": "恶意差评"}, headers=other)
    assert upheld.status_code == 200
    decided = await desk.api.post(f"{BASE}/{others}/appeal/decision", json={"upheld": True}, headers=boss)
    assert decided.json()["status"] == "closed" and decided.json()["rating"]["mark"] == "appeal_upheld"
    async with desk.ratings.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Rating)) == 2
    assert await _steps(desk, others) == ["opened", "appealed", "appeal_upheld"]


async def test_a_supervisor_may_not_decide_an_appeal_about_their_own_service(desk: Desk) -> None:
    boss_id, boss = await desk.person("boss", Role.SUPERVISOR)
    case_id = await desk.bad_rating(boss_id)
    await desk.api.post(f"{BASE}/{case_id}/appeal", json={"note": "误评"}, headers=boss)
    own = await desk.api.post(f"{BASE}/{case_id}/appeal/decision", json={"upheld": True}, headers=boss)
    assert own.status_code == 403 and own.json()["code"] == "own_appeal"


async def test_overdue_cases_escalate_to_the_supervisor_then_the_centre(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-sun")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    case_id = await desk.bad_rating(agent_id, level=1)
    # During the holiday nothing is due yet.
    desk.clock.at = local(2026, 10, 5, 12, 0)
    assert await cases.check_deadlines(desk.ratings, desk.clock.now()) == []
    # The call back was due at the end of Thursday 10-08.
    desk.clock.at = local(2026, 10, 9, 0, 30)
    first = await cases.check_deadlines(desk.ratings, desk.clock.now())
    assert [(e.case_id, e.level) for e in first] == [(case_id, 1)]
    assert await cases.check_deadlines(desk.ratings, desk.clock.now()) == []  # once
    listed = (await desk.api.get(BASE, headers=boss)).json()["cases"][0]
    assert listed["escalation"] == 1 and listed["overdue"] is True
    # Two more working days (Friday 10-09 and the 调休 Saturday 10-10) and it goes to the centre.
    desk.clock.at = local(2026, 10, 10, 23, 0)
    assert await cases.check_deadlines(desk.ratings, desk.clock.now()) == []
    desk.clock.at = local(2026, 10, 11, 0, 30)
    second = await cases.check_deadlines(desk.ratings, desk.clock.now())
    assert [(e.case_id, e.level) for e in second] == [(case_id, 2)]
    steps = await _steps(desk, case_id)
    assert steps.count("escalated") == 2
    heard = [(e.case_id, e.escalation) for e in desk.events if e.type == "ratings.case"]
    assert heard == [(case_id, 1), (case_id, 2)]


async def test_a_replied_case_closes_without_a_follow_up_after_the_set_days(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-zhou")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    case_id = await desk.bad_rating(agent_id, channel="phone")  # no conversation: nothing is sent
    for step, body in (("verify", {}), ("call-back", {}), ("rectify", {}), ("reply", {"text": "电话答复"})):
        assert (await desk.api.post(f"{BASE}/{case_id}/{step}", json=body, headers=boss)).status_code == 200
    await cases.check_deadlines(desk.ratings, desk.clock.now() + timedelta(days=1))
    assert (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()["status"] == "replied"
    # Three working days after Wednesday 09-30, past the holiday: 10-08, 10-09 and the 调休 Saturday 10-10.
    await cases.check_deadlines(desk.ratings, local(2026, 10, 10, 23, 0))
    assert (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()["status"] == "replied"
    await cases.check_deadlines(desk.ratings, local(2026, 10, 11, 0, 30))
    assert (await desk.api.get(f"{BASE}/{case_id}", headers=boss)).json()["status"] == "closed"
    assert (await _steps(desk, case_id))[-1] == "closed_without_follow_up"


async def test_a_follow_up_taken_by_phone(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-wu")
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    case_id = await desk.bad_rating(agent_id, channel="counter")
    for step, body in (("verify", {}), ("call-back", {}), ("rectify", {}), ("reply", {"text": "已答复"})):
        await desk.api.post(f"{BASE}/{case_id}/{step}", json=body, headers=boss)
    for level in (0, 6):
        wrong = await desk.api.post(f"{BASE}/{case_id}/follow-up", json={"level": level}, headers=boss)
        assert wrong.status_code == 422 and wrong.json()["code"] == "rating_level_invalid"
    done = await desk.api.post(f"{BASE}/{case_id}/follow-up", json={"level": 5}, headers=boss)
    assert done.json()["status"] == "closed" and done.json()["follow_up_level"] == 5


async def test_unknown_case_and_unsigned_requests(desk: Desk) -> None:
    _, boss = await desk.person("boss", Role.SUPERVISOR)
    missing = await desk.api.post(f"{BASE}/999/verify", json={}, headers=boss)
    assert missing.status_code == 404 and missing.json()["code"] == "case_not_found"
    assert (await desk.api.get(BASE)).status_code == 401
    extra = await desk.api.post(f"{BASE}/999/verify", json={"bogus": 1}, headers=boss)
    assert extra.status_code == 422


async def test_two_supervisors_pressing_the_same_button_one_wins(desk: Desk) -> None:
    agent_id, _ = await desk.person("agent-zheng")
    _, first = await desk.person("boss-a", Role.SUPERVISOR)
    _, second = await desk.person("boss-b", Role.SUPERVISOR)
    case_id = await desk.bad_rating(agent_id)
    answers = await asyncio.gather(*(desk.api.post(f"{BASE}/{case_id}/verify", json={}, headers=h)
                                     for h in (first, second)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert (await _steps(desk, case_id)).count("verified") == 1
