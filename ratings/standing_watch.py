"""When the standing rules run: after each rating of an agent (the `ratings.new` event on the bus), after
each verification of a bad rating (`ratings.case` with status verified) and every STANDING_CHECK_MINUTES
for everyone.

Every service process runs this; the database keeps one open suspension per agent, so two processes that
find the same agent below the line suspend them once."""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from agent_console.context import Console
from core.events import Event
from core.periodic import Background, repeat
from ratings import suspensions
from ratings.cases import CaseChanged, CaseStatus
from ratings.context import Ratings
from ratings.events import TOPIC, RatingNew
from ratings.models import Rating, RectificationCase

log = logging.getLogger(__name__)


class StandingWatch:
    def __init__(self, ratings: Ratings, console: Console | None) -> None:
        self._ratings = ratings
        self._console = console
        self._background = Background()

    def start(self) -> None:
        ratings = self._ratings
        self._background.start(**{
            "standing-periodic": repeat(lambda: suspensions.check_all(ratings, self._console),
                                        lambda: ratings.settings.standing_check_minutes * 60, ratings.clock.sleep,
                                        what="standing check", wait_first=True),
            "standing-after-ratings": self._after_ratings(),
        })

    async def stop(self) -> None:
        await self._background.stop()

    async def _after_ratings(self) -> None:
        async with self._ratings.bus.subscribe(TOPIC) as events:
            async for event in events:
                agent_id = await self._rated_agent(event)
                if agent_id is None:
                    continue
                try:
                    await suspensions.check_agent(self._ratings, self._console, agent_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("standing check after a rating failed")

    async def _rated_agent(self, event: Event) -> int | None:
        """The agent a new rating or a newly verified bad rating is of; None for the bot and other events."""
        if isinstance(event, RatingNew):
            return event.agent_id
        if isinstance(event, CaseChanged) and event.status == CaseStatus.VERIFIED:
            async with self._ratings.sessions() as session:
                return await session.scalar(
                    select(Rating.agent_id).join(RectificationCase, RectificationCase.rating_id == Rating.id)
                    .where(RectificationCase.id == event.case_id)
                )
        return None
