"""Who a link made by hand (an agent, the bot) is for, as the centre's data knows them: best effort.

The centre's data may be slow, missing or mid-export; a link is still worth sending without facts (the
checklist asks what the data would have answered), so this never raises and never waits long.
"""
from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.models import Channel, Identity
from core.settings import Settings
from outreach.centre_data import open_source
from outreach.identities import depositor_ref
from outreach.records import Person
from outreach.segment_eval import mask_name

log = logging.getLogger(__name__)
LOOKUP_TIMEOUT_S = 2.0
# The export files have no index: a look-up reads them through, and a thread cannot be stopped when its
# caller stops waiting. One at a time, then; while one runs, other links go without facts.
_ONE_AT_A_TIME = threading.Semaphore(1)


async def centre_facts(settings: Settings, *, app_user_id: str | None = None, mobile: str | None = None,
                       wechat_openid: str | None = None,
                       timeout_s: float = LOOKUP_TIMEOUT_S) -> tuple[str | None, dict[str, str]]:
    """(depositor_ref, the page's facts) of the depositor these identities belong to, or (None, {})."""
    if not (app_user_id or mobile or wechat_openid):
        return None, {}

    def look_up() -> Person | None:
        if not _ONE_AT_A_TIME.acquire(blocking=False):
            return None
        try:
            return open_source(settings).find(app_user_id=app_user_id, mobile=mobile, wechat_openid=wechat_openid)
        finally:
            _ONE_AT_A_TIME.release()

    try:
        person = await asyncio.wait_for(asyncio.to_thread(look_up), timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 - any failure of the data only costs the link its facts
        log.warning("centre data not available for a link's facts: %s", type(exc).__name__)
        return None, {}
    if person is None:
        return None, {}
    ref = depositor_ref(settings.session_secret.get_secret_value(), person.depositor.account_no)
    return ref, {"姓名": mask_name(person.depositor.name)}


async def citizen_facts(session: AsyncSession, settings: Settings, citizen_id: str,
                        timeout_s: float = LOOKUP_TIMEOUT_S) -> tuple[str | None, dict[str, str]]:
    """`centre_facts` for a citizen of this service, by the identities the channels know them by."""
    rows = await session.execute(select(Identity.kind, Identity.value).where(Identity.citizen_id == citizen_id))
    known = {kind: value for kind, value in rows.all()}
    return await centre_facts(settings, app_user_id=known.get(Channel.APP), mobile=known.get(Channel.PHONE),
                              wechat_openid=known.get(Channel.WECHAT), timeout_s=timeout_s)
