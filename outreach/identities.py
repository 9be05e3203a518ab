"""Which citizen a depositor of the centre is, through the identities the channels already share.

The depositor's account number is never stored: `depositor_ref` is a keyed hash of it (the key is the
session secret), enough to recognise the same depositor next time and useless to anyone without the key.
The citizen is found through the verified mobile (Channel.PHONE, E.164), the WeChat openid
(Channel.WECHAT) or the app user id (Channel.APP); a citizen already known on any of them (a WeChat
follower who chatted before) is reused, otherwise one is created. Nothing else about the person is kept.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Insert, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.models import Channel, Citizen, Identity, new_id
from outreach.models import DepositorLink


def depositor_ref(secret: str, account_no: str) -> str:
    """64 hex characters: HMAC-SHA256 of the account number under the service's secret."""
    return hmac.new(secret.encode(), account_no.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LinkWanted:
    """A depositor to link and the identities the centre's data gives for them (None where it has none)."""

    depositor_ref: str
    mobile: str | None = None
    wechat_openid: str | None = None
    app_user_id: str | None = None

    def identities(self) -> list[tuple[str, str]]:
        """(kind, value) in the order a match counts: app user id, WeChat openid, mobile."""
        return [(str(kind), value) for kind, value in
                ((Channel.APP, self.app_user_id), (Channel.WECHAT, self.wechat_openid), (Channel.PHONE, self.mobile))
                if value]


# Each chunk costs a fixed handful of statements whatever its size; 500 keeps every IN (...) list and
# multi-row INSERT well inside SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 500
# A chunk another transaction beat to a depositor or an identity is planned again from what that one
# committed; the last try keeps what it has (the winners' rows stand, nothing is merged). A chunk that
# PostgreSQL chose to break a deadlock with is tried again too (its rows are undone, the other goes on).
ATTEMPTS = 5
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for deadlock_detected


class _Lost(Exception):
    """Another transaction committed a link or an identity this chunk had planned otherwise."""


async def link_citizen(session: AsyncSession, *, depositor_ref: str, mobile: str | None,
                       wechat_openid: str | None, app_user_id: str | None) -> str:
    """The citizen id of this depositor (`link_citizens` for one person). The caller commits."""
    wanted = LinkWanted(depositor_ref, mobile=mobile, wechat_openid=wechat_openid, app_user_id=app_user_id)
    return (await link_citizens(session, [wanted]))[depositor_ref]


async def link_citizens(session: AsyncSession, people: Sequence[LinkWanted]) -> dict[str, str]:
    """depositor_ref → citizen id for each of these depositors, linking their identities and recording
    their DepositorLinks, in chunks of CHUNK with a few statements each rather than several per person.

    The rules are those of linking one by one in this order: a depositor already linked keeps their
    citizen; otherwise they are the citizen holding the first of their identities in the order app user
    id, WeChat openid, mobile (the app's and WeChat's ids name one person; a mobile may have changed
    hands), or a new citizen; an identity another citizen already holds stays theirs (two records are
    never merged on a guess), the others are added to the depositor's citizen. A person later in the
    list sees what the ones before took (the same depositor twice is one citizen; a mobile two
    depositors share goes to the first).

    Another process linking the same people at the same time is no error: rows are inserted with
    ON CONFLICT DO NOTHING and read back, so both end with the citizen whose link was committed first.
    Rows are written in the list's order, so two processes over the same export (which lists people in
    one order) take their locks in one order too. The caller commits.
    """
    linked: dict[str, str] = {}
    for start in range(0, len(people), CHUNK):
        chunk = people[start:start + CHUNK]
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            try:
                # A savepoint per try: a lost race undoes this chunk's rows alone, never the caller's.
                async with session.begin_nested():
                    linked |= await _link_chunk(session, chunk, strict=not last)
                break
            except _Lost:
                continue
            except OperationalError as error:
                if last or getattr(error.orig, "sqlstate", None) != DEADLOCK:
                    raise
    return linked


async def _link_chunk(session: AsyncSession, chunk: Sequence[LinkWanted], *, strict: bool) -> dict[str, str]:
    """Link one chunk; with `strict`, _Lost when another transaction's rows contradict the plan."""
    refs = list(dict.fromkeys(person.depositor_ref for person in chunk))
    citizen_of = await _links(session, refs)
    holders = await _holders(session, {key for person in chunk for key in person.identities()})
    # The plan, in memory and in order, so that each person sees what the ones before them took.
    new_citizens: list[str] = []
    new_links: dict[str, str] = {}
    new_identities: dict[tuple[str, str], str] = {}  # identity → the depositor whose citizen takes it
    for person in chunk:
        ref, keys = person.depositor_ref, person.identities()
        if ref not in citizen_of:
            known = next((holders[key] for key in keys if key in holders), None)
            if known is None:
                known = new_id()
                new_citizens.append(known)
            citizen_of[ref] = new_links[ref] = known
        for key in keys:
            if key not in holders:
                holders[key] = citizen_of[ref]
                new_identities[key] = ref
    if new_citizens:  # the citizens first: the links and identities refer to them
        await session.execute(insert(_table(Citizen)), [{"id": citizen} for citizen in new_citizens])
    if new_links:
        await session.execute(_insert_ignoring(session, _table(DepositorLink), ["depositor_ref"]),
                              [{"depositor_ref": ref, "citizen_id": citizen} for ref, citizen in new_links.items()])
        winners = await _links(session, list(new_links))
        if strict and any(winners.get(ref) != citizen for ref, citizen in new_links.items()):
            raise _Lost
        citizen_of |= winners
    if new_identities:
        await session.execute(
            _insert_ignoring(session, _table(Identity), ["kind", "value"]),
            [{"citizen_id": citizen_of[ref], "kind": kind, "value": value}
             for (kind, value), ref in new_identities.items()])
        if strict:
            held = await _holders(session, set(new_identities))
            if any(held.get(key) != citizen_of[ref] for key, ref in new_identities.items()):
                raise _Lost
    orphans = set(new_citizens) - set(citizen_of.values())
    if orphans:  # made for a depositor whom another transaction linked first; nothing refers to them
        await session.execute(delete(Citizen).where(Citizen.id.in_(orphans)))
    return {ref: citizen_of[ref] for ref in refs}


def _table(model: type[Citizen | DepositorLink | Identity]) -> Table:
    # Core inserts on the table: the ORM's bulk path adds nothing here and costs as much as the database.
    return cast(Table, model.__table__)


def _insert_ignoring(session: AsyncSession, table: Table, keys: list[str]) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING in this session's dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)
    raise RuntimeError(f"linking depositors needs ON CONFLICT DO NOTHING, which {name} lacks here")


async def _links(session: AsyncSession, refs: list[str]) -> dict[str, str]:
    """The citizen each of these depositors is linked to, where they are."""
    if not refs:
        return {}
    rows = await session.execute(select(DepositorLink.depositor_ref, DepositorLink.citizen_id)
                                 .where(DepositorLink.depositor_ref.in_(refs)))
    return {ref: citizen for ref, citizen in rows}


async def _holders(session: AsyncSession, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Which citizen holds each of these identities now: one query per kind."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, []).append(value)
    found: dict[tuple[str, str], str] = {}
    for kind, values in by_kind.items():
        rows = await session.execute(select(Identity.value, Identity.citizen_id)
                                     .where(Identity.kind == kind, Identity.value.in_(values)))
        found |= {(kind, value): citizen for value, citizen in rows}
    return found
