"""What happened to each person: the recipients of a campaign page by page, one person with every
attempt, and the whole campaign as CSV. Numbers are masked: nobody reading a report needs to dial."""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, cast, func, select

from callout import campaigns, phones
from callout.context import Callout
from callout.models import Attempt, Outcome, Recipient, RecipientState
from callout.schedule import LOCAL
from core.errors import ApiError

EXPORT_BATCH = 2000
EXPORT_COLUMNS = ["row", "phone", "name", "state", "outcome", "attempts", "fallback", "last_attempt_at",
                  "last_status", "last_duration_s", "last_error_code"]


def _local(value: datetime | None) -> str | None:
    return value.astimezone(LOCAL).isoformat(timespec="seconds") if value else None


def recipient_dict(recipient: Recipient) -> dict:
    return {"id": recipient.id, "row": recipient.row, "phone": phones.mask(recipient.phone), "name": recipient.name,
            "state": recipient.state, "outcome": recipient.outcome, "attempts": recipient.attempts,
            "fallback": recipient.fallback, "updated_at": _local(recipient.updated_at)}


def attempt_dict(attempt: Attempt) -> dict:
    return {"seq": attempt.seq, "channel": attempt.channel, "counted": attempt.counted, "status": attempt.status,
            "answered_by": attempt.answered_by, "outcome": attempt.outcome, "error_code": attempt.error_code,
            "error": attempt.error, "heard": attempt.heard, "duration_s": attempt.duration_s,
            "claimed_at": _local(attempt.claimed_at), "answered_at": _local(attempt.answered_at),
            "ended_at": _local(attempt.ended_at)}


async def recipients(callout: Callout, campaign_id: int, *, state: str | None, outcome: str | None,
                     offset: int, limit: int) -> dict:
    await campaigns.get(callout, campaign_id)
    query = select(Recipient).where(Recipient.campaign_id == campaign_id)
    if state:
        query = query.where(Recipient.state == state)
    if outcome:
        query = query.where(Recipient.outcome == outcome)
    async with callout.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        page = (await session.scalars(query.order_by(Recipient.row).offset(offset).limit(limit))).all()
    return {"total": int(total or 0), "recipients": [recipient_dict(r) for r in page]}


async def recipient(callout: Callout, campaign_id: int, recipient_id: int) -> dict:
    async with callout.sessions() as session:
        found = await session.get(Recipient, recipient_id)
        if found is None or found.campaign_id != campaign_id:
            raise ApiError(404, "recipient_not_found", "该联系人不在此外呼任务中。")
        tries = (await session.scalars(select(Attempt).where(Attempt.recipient_id == recipient_id)
                                       .order_by(Attempt.seq))).all()
    return recipient_dict(found) | {"variables": dict(found.variables or {}), "tries": [attempt_dict(a) for a in tries]}


async def export_csv(callout: Callout, campaign_id: int) -> AsyncIterator[str]:
    """The campaign's recipients with their last attempt, in batches: memory does not grow with the audience."""
    await campaigns.get(callout, campaign_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + _drain(buffer)  # a BOM, so Excel opens the Chinese names as UTF-8
    after = 0
    while True:
        async with callout.sessions() as session:
            batch = (await session.scalars(select(Recipient).where(Recipient.campaign_id == campaign_id,
                                                                   Recipient.id > after)
                                           .order_by(Recipient.id).limit(EXPORT_BATCH))).all()
            if not batch:
                return
            latest = await _last_attempts(session, [r.id for r in batch])
        for person in batch:
            last = latest.get(person.id)
            writer.writerow([person.row, phones.mask(person.phone), person.name, person.state, person.outcome or "",
                             person.attempts, person.fallback or "", _local(last.claimed_at) if last else "",
                             last.status if last else "", last.duration_s if last and last.duration_s is not None
                             else "", last.error_code if last and last.error_code else ""])
        after = batch[-1].id
        yield _drain(buffer)


async def _last_attempts(session, recipient_ids: list[int]) -> dict[int, Attempt]:
    newest = (select(Attempt.recipient_id, func.max(Attempt.seq).label("seq"))
              .where(Attempt.recipient_id.in_(recipient_ids)).group_by(Attempt.recipient_id).subquery())
    rows = (await session.scalars(select(Attempt).join(
        newest, (Attempt.recipient_id == newest.c.recipient_id) & (Attempt.seq == newest.c.seq)))).all()
    return {attempt.recipient_id: attempt for attempt in rows}


# -- outcomes over time ---------------------------------------------------------------------------------

BUCKET_S = {"minute": 60, "hour": 3600, "day": 86400}
MAX_BUCKETS = 720  # a month of hours; an older start is cut off (`truncated`)
# A message campaign's person is reached when the message went out (sms, wechat, push, card).
REACHED = (Outcome.ANSWERED, Outcome.TRANSFERRED, Outcome.SENT)
# Never called or messaged: not part of the reach rate's denominator.
UNCALLED = (Outcome.SUPPRESSED, Outcome.EXPIRED, Outcome.CAPPED)
_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving: a day bucket starts at local midnight


def _epoch(column: ColumnElement[datetime], dialect: str) -> ColumnElement[int]:
    """Seconds since 1970 of a stored UTC time, in SQL, so grouping happens in the database."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), Integer)


def _rate(reached: int, settled: int) -> float | None:
    return round(reached / settled, 4) if settled else None


async def timeline(callout: Callout, campaign_id: int, bucket: str) -> dict:
    """Calls (or a message campaign's messages) ended per time bucket (Asia/Shanghai) by outcome, each
    bucket's reach rate (answered, transferred or sent / ended), and the campaign's reach rate over people:
    reached / settled, where settled is everyone done except those never tried (suppressed, expired,
    capped). A call's fall-back messages are not counted (they are not the campaign's own tries)."""
    await campaigns.get(callout, campaign_id)
    size = BUCKET_S[bucket]
    async with callout.sessions() as session:
        dialect = session.get_bind().dialect.name
        ended = func.coalesce(Attempt.ended_at, Attempt.claimed_at)
        slot = ((_epoch(ended, dialect) + _OFFSET_S) // size).label("slot")
        rows = (await session.execute(
            select(slot, Attempt.outcome, func.count())
            .where(Attempt.campaign_id == campaign_id, Attempt.outcome.is_not(None), Attempt.counted.is_(True))
            .group_by(slot, Attempt.outcome)
        )).all()
        people = (await session.execute(
            select(Recipient.outcome, func.count())
            .where(Recipient.campaign_id == campaign_id, Recipient.state == RecipientState.DONE)
            .group_by(Recipient.outcome)
        )).all()
    by_slot: dict[int, dict[str, int]] = {}
    for number, outcome, count in rows:
        by_slot.setdefault(int(number), {})[str(outcome)] = int(count)
    buckets: list[dict] = []
    truncated = False
    if by_slot:
        first, last = min(by_slot), max(by_slot)
        if last - first >= MAX_BUCKETS:
            first, truncated = last - MAX_BUCKETS + 1, True
        for number in range(first, last + 1):
            counts = {str(o): 0 for o in Outcome if o not in UNCALLED} | by_slot.get(number, {})
            settled = sum(counts.values())
            reached = sum(counts.get(str(o), 0) for o in REACHED)
            start = datetime.fromtimestamp(number * size - _OFFSET_S, tz=LOCAL)
            buckets.append({"start": start.isoformat(timespec="minutes"),
                            "end": (start + timedelta(seconds=size)).isoformat(timespec="minutes"),
                            "counts": counts, "calls": settled, "reach_rate": _rate(reached, settled)})
    done = {str(outcome): int(count) for outcome, count in people if outcome}
    settled_people = sum(count for outcome, count in done.items() if outcome not in UNCALLED)
    reached_people = sum(done.get(str(o), 0) for o in REACHED)
    return {"bucket": bucket, "buckets": buckets, "truncated": truncated, "settled": settled_people,
            "reached": reached_people, "reach_rate": _rate(reached_people, settled_people)}


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
