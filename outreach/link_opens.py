"""Counting the opens of personal links with one write for many opens.

Every open of `/o/<token>` counts (`opens` + 1, the first one's time, and the funnel's `opened` once);
writing each in its own transaction made every open a commit, and at a hundred opens a second the
commits, not the pages, set the page's slowest answers. Opens are handed to one writer per process
instead ("group commit"): it takes everything that arrived while it last wrote and writes it in one
transaction. An open alone is written at once; under load many share a commit. Each open's caller
waits for its own write (the page is already on its way by then), so a count is never lost while the
process lives, and nothing waits on a timer.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from outreach import funnel
from outreach.models import OutreachLink

log = logging.getLogger(__name__)


class OpenRecorder:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._pending: list[tuple[str, datetime, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, link_id: str, at: datetime) -> None:
        """Count one open of the link; returns once it is written (or its write failed and was logged)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((link_id, at, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await done

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write([(link_id, at) for link_id, at, _ in batch])
            except Exception:  # the pages were shown; a lost count must not surface anywhere
                log.exception("could not count %s link opens", len(batch))
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _write(self, opens: list[tuple[str, datetime]]) -> None:
        counts = Counter(link_id for link_id, _ in opens)
        first: dict[str, datetime] = {}
        for link_id, at in opens:
            first[link_id] = min(at, first.get(link_id, at))
        async with self._sessions() as session:
            # Links not opened before this batch: their first open reaches the funnel (once, whatever
            # another process does at the same moment: the funnel's rows are unique).
            fresh = (await session.execute(
                select(OutreachLink.id, OutreachLink.recipient_id, OutreachLink.campaign_id, OutreachLink.segment,
                       OutreachLink.channel, OutreachLink.business)
                .where(OutreachLink.id.in_(list(counts)), OutreachLink.opened_at.is_(None))
            )).all()
            table = cast(Table, OutreachLink.__table__)
            await session.execute(
                update(table).where(table.c.id == bindparam("lid"))
                .values(opens=table.c.opens + bindparam("n"),
                        opened_at=func.coalesce(table.c.opened_at, bindparam("at"))),
                [{"lid": link_id, "n": n, "at": first[link_id]} for link_id, n in counts.items()],
            )
            for link in fresh:
                await funnel.record(session, subject=funnel.link_subject(link.id, link.recipient_id),
                                    stage=funnel.Stage.OPENED, campaign_id=link.campaign_id, segment=link.segment,
                                    channel=link.channel, business=link.business, at=first[link.id])
            await session.commit()
