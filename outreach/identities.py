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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.models import Channel, Citizen, Identity, new_id
from outreach.models import DepositorLink


def depositor_ref(secret: str, account_no: str) -> str:
    """64 hex characters: HMAC-SHA256 of the account number under the service's secret."""
    return hmac.new(secret.encode(), account_no.encode(), hashlib.sha256).hexdigest()


async def link_citizen(session: AsyncSession, *, depositor_ref: str, mobile: str | None,
                       wechat_openid: str | None, app_user_id: str | None) -> str:
    """The citizen id of this depositor, linking their identities and recording the DepositorLink.

    An identity another citizen already holds stays theirs (two records are never merged on a guess);
    the depositor is that citizen when it is the first such match in the order app user id, WeChat
    openid, mobile (the app's and WeChat's ids name one person; a mobile may have changed hands).
    The caller commits.
    """
    wanted = [(kind, value) for kind, value in
              ((Channel.APP, app_user_id), (Channel.WECHAT, wechat_openid), (Channel.PHONE, mobile)) if value]
    linked = await session.get(DepositorLink, depositor_ref)
    holders = await _holders(session, wanted)
    if linked is not None:
        citizen_id = linked.citizen_id
    else:
        known = next((holders[key] for key in wanted if key in holders), None)
        citizen_id = known or new_id()
        if known is None:
            session.add(Citizen(id=citizen_id))
            await session.flush()  # the citizen row first: the link and identities refer to it
        session.add(DepositorLink(depositor_ref=depositor_ref, citizen_id=citizen_id))
    for kind, value in wanted:
        if (kind, value) not in holders:
            session.add(Identity(citizen_id=citizen_id, kind=str(kind), value=value))
    await session.flush()
    return citizen_id


async def _holders(session: AsyncSession, wanted: list[tuple[Channel, str]]) -> dict[tuple[Channel, str], str]:
    """Which citizen holds each of these identities now."""
    found: dict[tuple[Channel, str], str] = {}
    for kind, value in wanted:
        citizen = await session.scalar(
            select(Identity.citizen_id).where(Identity.kind == str(kind), Identity.value == value))
        if citizen is not None:
            found[(kind, value)] = citizen
    return found
