"""A depositor becomes a citizen through the identities the channels share: an existing citizen (a WeChat
follower who chatted before) is reused, otherwise one is created; the account number is never stored."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conversations.models import Channel, Citizen, Identity
from core.db import make_engine, make_sessionmaker
from outreach.identities import depositor_ref, link_citizen
from outreach.models import DepositorLink

SECRET = "test-secret"


@pytest.fixture
async def sessions(database_url):
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def test_depositor_ref_is_a_keyed_hash() -> None:
    ref = depositor_ref(SECRET, "43010000000001")
    assert len(ref) == 64 and "43010000000001" not in ref
    assert ref == depositor_ref(SECRET, "43010000000001")
    assert ref != depositor_ref("another-secret", "43010000000001")
    assert ref != depositor_ref(SECRET, "43010000000002")


async def identities_of(session, citizen_id: str) -> set[tuple[str, str]]:
    rows = await session.execute(select(Identity.kind, Identity.value).where(Identity.citizen_id == citizen_id))
    return {(kind, value) for kind, value in rows}


async def test_a_known_wechat_follower_is_reused(sessions) -> None:
    async with sessions() as session:
        session.add(Citizen(id="follower"))
        session.add(Identity(citizen_id="follower", kind=Channel.WECHAT, value="oFOLLOWER"))
        await session.commit()
    ref = depositor_ref(SECRET, "A001")
    async with sessions() as session:
        citizen = await link_citizen(session, depositor_ref=ref, mobile="+8613812345678",
                                     wechat_openid="oFOLLOWER", app_user_id=None)
        await session.commit()
    assert citizen == "follower"
    async with sessions() as session:
        assert await identities_of(session, "follower") == {("wechat", "oFOLLOWER"), ("phone", "+8613812345678")}
        link = await session.get(DepositorLink, ref)
        assert link is not None and link.citizen_id == "follower"
        # Linking again changes nothing and answers the same citizen.
        assert await link_citizen(session, depositor_ref=ref, mobile="+8613812345678",
                                  wechat_openid="oFOLLOWER", app_user_id=None) == "follower"
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(Identity)) == 2
        assert await session.scalar(select(func.count()).select_from(Citizen)) == 1


async def test_a_new_depositor_becomes_a_new_citizen(sessions) -> None:
    ref = depositor_ref(SECRET, "A002")
    async with sessions() as session:
        citizen = await link_citizen(session, depositor_ref=ref, mobile="+8613900000002", wechat_openid=None,
                                     app_user_id="u-2")
        await session.commit()
    async with sessions() as session:
        stored = await session.get(Citizen, citizen)
        assert stored is not None and stored.display_name is None  # nothing about the person is kept
        assert await identities_of(session, citizen) == {("phone", "+8613900000002"), ("app", "u-2")}


async def test_identities_held_by_others_are_never_merged(sessions) -> None:
    async with sessions() as session:
        session.add_all([Citizen(id="app-user"), Citizen(id="caller")])
        session.add_all([Identity(citizen_id="app-user", kind=Channel.APP, value="u-3"),
                         Identity(citizen_id="caller", kind=Channel.PHONE, value="+8613900000003")])
        await session.commit()
    async with sessions() as session:
        citizen = await link_citizen(session, depositor_ref=depositor_ref(SECRET, "A003"), mobile="+8613900000003",
                                     wechat_openid="oNEW", app_user_id="u-3")
        await session.commit()
    assert citizen == "app-user"  # the app user id names one person; the mobile stays with its holder
    async with sessions() as session:
        assert await identities_of(session, "app-user") == {("app", "u-3"), ("wechat", "oNEW")}
        assert await identities_of(session, "caller") == {("phone", "+8613900000003")}
