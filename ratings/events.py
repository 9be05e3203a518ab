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


class SuspensionChanged(Event):
    """An agent's right to go on duty was suspended, upheld or restored (ratings/suspensions.py), on the
    agent's console topic and the supervisors'; `message` is the notice as the console shows it."""

    type = "standing.suspension"
    agent_id: int
    suspension_id: int
    state: str
    rule: str
    message: str
