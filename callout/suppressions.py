"""The suppression list (不再来电): a number on it is never called or messaged again by any campaign.

A number arrives here from staff (one by one or an imported file), from the citizen on a call, by
replying 退订, or from the provider (a recipient who unsubscribed there). Adding it also settles every
recipient still waiting to be tried with that number, in every campaign, so counts show it at once;
the dialer checks the list again at each claim.
"""
from __future__ import annotations

import unicodedata

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callout import phones, uploads
from callout.models import Outcome, Recipient, RecipientState, Suppression
from core.db import utcnow
from staff import audit

SOURCES = frozenset({"staff", "import", "call", "sms", "wechat", "provider"})
# Words a citizen uses to unsubscribe by message (退订 is the convention Chinese SMS senders announce).
OPT_OUT_WORDS = ("退订", "TD", "td", "不要再打", "别再打", "不再接收")


async def is_suppressed(session: AsyncSession, phone: str) -> bool:
    return await session.scalar(select(Suppression.id).where(Suppression.phone == phone)) is not None


async def add(
    sessions: async_sessionmaker[AsyncSession],
    phone: str,
    *,
    source: str,
    actor: audit.Actor = audit.SYSTEM,
    reason: str | None = None,
    evidence: dict | None = None,
) -> tuple[Suppression, bool]:
    """Put a normalised number on the list (idempotent): the entry and whether it is new."""
    if source not in SOURCES:
        raise ValueError(f"unknown suppression source {source!r}")
    async with sessions() as session:
        entry = Suppression(phone=phone, source=source, reason=(reason or "")[:200] or None,
                            evidence=evidence or {}, added_by=actor.id, created_at=utcnow())
        session.add(entry)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            found = await session.execute(select(Suppression).where(Suppression.phone == phone))
            return found.scalar_one(), False
        await _settle_waiting(session, [phone])
        audit.record(session, actor, "suppression_add", f"phone:{phones.mask(phone)}", source=source)
        await session.commit()
        return entry, True


async def import_rows(
    sessions: async_sessionmaker[AsyncSession], filename: str, content: bytes, actor: audit.Actor
) -> dict:
    """Add every good number of a CSV/XLSX file; bad rows are reported, numbers already listed counted."""
    header, rows = uploads.read_file(filename, content)
    phone_column, _name, _vars = uploads.columns_of(header)
    rejected: list[dict] = []
    numbers: dict[str, int] = {}
    for row in rows:
        raw = row.values.get(phone_column, "")
        try:
            numbers.setdefault(phones.normalise(raw), row.number)
        except phones.BadNumber as bad:
            rejected.append({"row": row.number, "phone": phones.mask(str(raw)[:20]), "code": bad.code,
                             "reason": bad.message})
    async with sessions() as session:
        listed = set((await session.scalars(select(Suppression.phone).where(
            Suppression.phone.in_(list(numbers))))).all()) if numbers else set()
        fresh = [phone for phone in numbers if phone not in listed]
        now = utcnow()
        session.add_all(Suppression(phone=phone, source="import", evidence={"file": filename[:100]},
                                    added_by=actor.id, created_at=now) for phone in fresh)
        await _settle_waiting(session, fresh)
        audit.record(session, actor, "suppression_import", None, added=len(fresh), file=filename[:100])
        await session.commit()
    return {"added": len(fresh), "already": len(numbers) - len(fresh), "rejected": rejected}


async def _settle_waiting(session: AsyncSession, numbers: list[str]) -> None:
    """Recipients with these numbers that no attempt holds right now end as suppressed."""
    for start in range(0, len(numbers), 500):
        await session.execute(
            update(Recipient)
            .where(Recipient.phone.in_(numbers[start:start + 500]),
                   Recipient.state.in_([RecipientState.PENDING, RecipientState.RETRY]))
            .values(state=RecipientState.DONE, outcome=Outcome.SUPPRESSED, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


# Closing punctuation a citizen types after the word ("退订。") still means just the word.
_TRAILING = "。.!！~～ "


def is_opt_out(text: str) -> bool:
    """A message (SMS or WeChat) that is an unsubscribe word and nothing else (NFKC: full-width ＴＤ is
    TD). "退订是什么意思" is a question, not a request, on either channel."""
    word = unicodedata.normalize("NFKC", text or "").strip().rstrip(_TRAILING)
    return word in OPT_OUT_WORDS
