"""Depositors linked in bulk (outreach.identities.link_citizens) end exactly as linking them one by one
would: an existing citizen reused, the app user id counting first, an identity another citizen holds
left with them, the same depositor twice one citizen. Two transactions linking the same new depositors
at once both finish, with one citizen each. A campaign prepared from a few thousand matches links them
with a few statements per chunk rather than several per person."""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, event, func, select

from callout import segment_campaigns
from callout.context import Callout
from callout.models import Campaign, Recipient
from conversations.models import Channel, Citizen, Identity
from core.db import make_engine, make_sessionmaker, migrate
from core.settings import Settings
from outreach import identities
from outreach.identities import LinkWanted, depositor_ref, link_citizen, link_citizens
from outreach.models import DepositorLink
from outreach.records import LoanKind
from outreach.segments import Match, Segment, evaluate, load_segments
from policy.loan_params import load_params
from staff import passwords
from staff.audit import Actor
from staff.models import Agent, Role
from tests.agent_console.helpers import CHEAP_HASHER
from tests.callout.helpers import FrozenClock, local, login
from tests.databases import reset_postgres
from tests.outreach.segment_people import ListSource, loan, person

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret"


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture
async def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


def ref(account: str) -> str:
    return depositor_ref(SECRET, account)


async def seed(sessions, holders: dict[tuple[str, str], str]) -> None:
    """Citizens known before the centre's data is read: identity → citizen id."""
    async with sessions() as session:
        session.add_all([Citizen(id=citizen) for citizen in sorted(set(holders.values()))])
        await session.flush()
        session.add_all([Identity(citizen_id=citizen, kind=kind, value=value)
                         for (kind, value), citizen in holders.items()])
        await session.commit()


async def empty(sessions) -> None:
    async with sessions() as session:
        for model in (Identity, DepositorLink, Citizen):
            await session.execute(delete(model))
        await session.commit()


async def state(sessions, seeded: set[str], people: list[LinkWanted],
                ) -> tuple[dict[str, str], dict[tuple[str, str], str], int]:
    """Who each depositor is and who holds each identity, new citizens named after the first of `people`
    linked to them (their ids are random), and how many citizens there are."""
    async with sessions() as session:
        links = dict((await session.execute(select(DepositorLink.depositor_ref, DepositorLink.citizen_id))).all())
        held = {(kind, value): citizen for kind, value, citizen in
                (await session.execute(select(Identity.kind, Identity.value, Identity.citizen_id))).all()}
        citizens = await session.scalar(select(func.count()).select_from(Citizen))
    names: dict[str, str] = {citizen: citizen for citizen in seeded}
    for wanted in people:
        names.setdefault(links[wanted.depositor_ref], f"new:{wanted.depositor_ref}")
    return ({depositor: names[citizen] for depositor, citizen in links.items()},
            {key: names.get(citizen, f"unlinked:{citizen}") for key, citizen in held.items()}, citizens or 0)


async def one_by_one(sessions, people: list[LinkWanted]) -> dict[str, str]:
    answers: dict[str, str] = {}
    async with sessions() as session:
        for wanted in people:
            answers[wanted.depositor_ref] = await link_citizen(
                session, depositor_ref=wanted.depositor_ref, mobile=wanted.mobile,
                wechat_openid=wanted.wechat_openid, app_user_id=wanted.app_user_id)
        await session.commit()
    return answers


async def in_bulk(sessions, people: list[LinkWanted]) -> dict[str, str]:
    async with sessions() as session:
        answers = await link_citizens(session, people)
        await session.commit()
    return answers


async def test_bulk_linking_follows_the_one_by_one_rules(sessions) -> None:
    known = {(Channel.WECHAT, "oFOLLOWER"): "follower", (Channel.APP, "u-app"): "app-user",
             (Channel.WECHAT, "oOTHER"): "other-follower", (Channel.PHONE, "+8613900000003"): "caller"}
    people = [
        LinkWanted(ref("A1"), mobile="+8613900000001", wechat_openid="oFOLLOWER"),  # a follower who chatted
        # The app user id counts before the openid another citizen holds; the mobile's holder keeps it.
        LinkWanted(ref("A2"), mobile="+8613900000003", wechat_openid="oOTHER", app_user_id="u-app"),
        LinkWanted(ref("A3"), mobile="+8613900000004", app_user_id="u-3"),  # nobody known: a new citizen
        LinkWanted(ref("A3"), mobile="+8613900000004", wechat_openid="oA3"),  # the same depositor again
        LinkWanted(ref("A4"), mobile="+8613900000004"),  # a mobile shared with A3: A3's citizen
        LinkWanted(ref("A5")),  # no identity at all: still a citizen of their own
    ]
    await seed(sessions, known)
    answers = await in_bulk(sessions, people)
    bulk = await state(sessions, set(known.values()), people)
    links, held, citizens = bulk
    assert links == {ref("A1"): "follower", ref("A2"): "app-user", ref("A3"): f"new:{ref('A3')}",
                     ref("A4"): f"new:{ref('A3')}", ref("A5"): f"new:{ref('A5')}"}
    async with sessions() as session:
        assert answers == dict((await session.execute(
            select(DepositorLink.depositor_ref, DepositorLink.citizen_id))).all())
    assert held[(Channel.PHONE, "+8613900000001")] == "follower"
    assert held[(Channel.PHONE, "+8613900000003")] == "caller"  # never moved to the app user
    assert held[(Channel.WECHAT, "oOTHER")] == "other-follower"
    assert held[(Channel.WECHAT, "oA3")] == held[(Channel.APP, "u-3")] == f"new:{ref('A3')}"
    assert citizens == len(known) + 2  # A3 (with A4) and A5: nothing made and left over

    await empty(sessions)
    await seed(sessions, known)
    await one_by_one(sessions, people)
    assert await state(sessions, set(known.values()), people) == bulk

    # Linking again finds every link and changes nothing.
    again = await in_bulk(sessions, people)
    assert await state(sessions, set(known.values()), people) == bulk
    async with sessions() as session:
        assert again == dict((await session.execute(
            select(DepositorLink.depositor_ref, DepositorLink.citizen_id))).all())


async def test_bulk_equals_one_by_one_over_chunks_of_random_people(sessions, monkeypatch) -> None:
    monkeypatch.setattr(identities, "CHUNK", 40)  # several chunks from a few hundred people
    chance = random.Random(20261207)
    mobiles = [f"+86139{n:08d}" for n in range(150)]  # few enough that people share them
    openids = [f"o{n:05d}" for n in range(120)]
    apps = [f"u{n:05d}" for n in range(120)]
    known: dict[tuple[str, str], str] = {}
    for n in range(30):
        kind, values = chance.choice([(Channel.PHONE, mobiles), (Channel.WECHAT, openids), (Channel.APP, apps)])
        known.setdefault((str(kind), chance.choice(values)), f"known-{n}")
    people = [LinkWanted(ref(f"D{chance.randrange(220)}"),
                         mobile=chance.choice([None, *mobiles]), wechat_openid=chance.choice([None, None, *openids]),
                         app_user_id=chance.choice([None, None, *apps]))
              for _ in range(300)]
    await seed(sessions, known)
    await in_bulk(sessions, people)
    bulk = await state(sessions, set(known.values()), people)
    await empty(sessions)
    await seed(sessions, known)
    await one_by_one(sessions, people)
    assert await state(sessions, set(known.values()), people) == bulk


@pytest.fixture
async def pg_sessions(suite_postgres_url):
    """Two writers at once need PostgreSQL: SQLite lets one writer in at a time."""
    reset_postgres(suite_postgres_url)
    migrate(suite_postgres_url)
    engine = make_engine(suite_postgres_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.mark.postgres
async def test_two_transactions_linking_the_same_new_depositors_both_finish(pg_sessions, monkeypatch):
    sessions = pg_sessions
    monkeypatch.setattr(identities, "CHUNK", 100)
    await seed(sessions, {(Channel.WECHAT, "o00007"): "follower"})
    people = [LinkWanted(ref(f"N{n}"), mobile=f"+86137{n:08d}", wechat_openid=f"o{n:05d}", app_user_id=f"u{n}")
              for n in range(350)]

    async def link(order: list[LinkWanted]) -> dict[str, str]:
        async with sessions() as session:
            answers = await link_citizens(session, order)
            await asyncio.sleep(0.05)  # hold the transaction open while the other one runs into it
            await session.commit()
            return answers

    # The second over two thirds of them (as a segment that overlaps another): its chunks end elsewhere.
    first, second = await asyncio.gather(link(people), link([p for n, p in enumerate(people) if n % 3]))
    assert second == {ref: citizen for ref, citizen in first.items() if ref in second} and len(second) > 200
    async with sessions() as session:
        links = dict((await session.execute(select(DepositorLink.depositor_ref, DepositorLink.citizen_id))).all())
        citizens = await session.scalar(select(func.count()).select_from(Citizen))
        identities_held = await session.scalar(select(func.count()).select_from(Identity))
    assert links == first and len(links) == len(people)
    assert first[ref("N7")] == "follower"
    assert citizens == len(people)  # the follower and one new citizen for each other depositor, no orphans
    assert identities_held == 3 * len(people)


@dataclass
class Preparing:
    callout: Callout
    segment: Segment
    matches: list[Match]
    planner: int
    secret: str

    async def prepare(self, name: str = "偿还商贷提取提醒") -> segment_campaigns.Prepared:
        return await segment_campaigns.prepare_reported(
            self.callout, Actor(self.planner, "planner", "campaigner"), segment=self.segment, matches=self.matches,
            channel="sms", name=name, created_by=self.planner)


async def preparing(database_url: str, sessions, tmp_path: Path, count: int) -> Preparing:
    """The commercial-loan segment's matches among `count` borrowers, and a campaigner to prepare them."""
    source = ListSource([person(f"{n:08d}", loan(f"{n:08d}", LoanKind.COMMERCIAL)) for n in range(1, count + 1)])
    segment = load_segments(ROOT / "policy" / "segments", ROOT / "policy" / "params")[
        "repay-commercial-no-withdrawal"]
    params = load_params(ROOT / "policy" / "params" / "loan.yml")
    now = local(2026, 12, 7, 10, 0)
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    secret = settings.session_secret.get_secret_value()
    callout = Callout(settings=settings, sessions=sessions, clock=FrozenClock(now))
    await login(callout, "planner", Role.CAMPAIGNER)
    async with sessions() as session:
        planner = await session.scalar(select(Agent.id).where(Agent.username == "planner"))
    assert planner is not None
    matches = list(evaluate(segment, source, params=params, rates=params.rate_entry(now.date()), secret=secret,
                            today=now.date()))
    assert len(matches) == count
    return Preparing(callout, segment, matches, planner, secret)


async def test_a_campaign_from_thousands_of_matches_links_them_in_a_few_statements(database_url, engine, sessions,
                                                                                    tmp_path):
    count = 3000
    setup = await preparing(database_url, sessions, tmp_path, count)
    secret = setup.secret
    # One depositor already uses the app under their app id: reused, not duplicated.
    await seed(sessions, {(Channel.APP, "app-00000009"): "follower"})

    statements = 0

    def counted(*_args: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(engine.sync_engine, "before_cursor_execute", counted)
    try:
        prepared = await setup.prepare()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", counted)
    # One by one this took several statements per person (over 10,000 here).
    assert statements < 300, statements
    assert prepared.campaign is not None
    async with sessions() as session:
        recipients = dict((await session.execute(
            select(Recipient.phone, Recipient.citizen_id).where(Recipient.campaign_id == prepared.campaign.id)
        )).all())
        links = dict((await session.execute(select(DepositorLink.depositor_ref, DepositorLink.citizen_id))).all())
        phones = dict((await session.execute(
            select(Identity.value, Identity.citizen_id).where(Identity.kind == Channel.PHONE))).all())
    assert len(recipients) == len(links) == count
    assert set(links.values()) == set(recipients.values())
    assert recipients["+8613800000009"] == "follower" == links[depositor_ref(secret, "00000009")]
    assert all(phones[phone] == citizen for phone, citizen in recipients.items())


async def test_two_preparations_of_the_same_people_at_once_both_succeed(database_url, sessions, tmp_path):
    count = 700  # more than a chunk
    setup = await preparing(database_url, sessions, tmp_path, count)
    first, second = await asyncio.gather(setup.prepare("第一次"), setup.prepare("第二次"))
    assert first.campaign is not None and second.campaign is not None
    async with sessions() as session:
        by_campaign: dict[int, dict[str, str | None]] = {}
        for campaign_id, phone, citizen in (await session.execute(
                select(Recipient.campaign_id, Recipient.phone, Recipient.citizen_id))).all():
            by_campaign.setdefault(campaign_id, {})[phone] = citizen
        links = await session.scalar(select(func.count()).select_from(DepositorLink))
        citizens = await session.scalar(select(func.count()).select_from(Citizen))
        segments = (await session.scalars(select(Campaign.segment))).all()
    # What the campaign had before a chunk was tried again is kept (the savepoint undoes the chunk only).
    assert segments == ["repay-commercial-no-withdrawal"] * 2
    assert len(by_campaign[first.campaign.id]) == count
    assert by_campaign[first.campaign.id] == by_campaign[second.campaign.id]  # the same citizen for each
    assert links == citizens == count  # and none made twice or left over
