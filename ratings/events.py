"""Live events of 好差评 on the bus topic `ratings` (the wall view listens)."""
from __future__ import annotations

from core.events import Event

TOPIC = "ratings"


class RatingNew(Event):
    """A rating was stored (or its reasons added). No personal data: the wall shows levels, not people."""

    type = "ratings.new"
    rating_id: int
    level: int
    channel: str
    kind: str
    business: str | None = None
    department: str | None = None
    agent_id: int | None = None
    bad: bool = False
