"""The agents' standing (常态评价): each agent's rolling score over the last STANDING_WINDOW_DAYS.

The score (0-100) is a weighted mean of four parts, each 0-100, less a penalty per verified bad rating:

    ratings  = mean rating score (ratings.scoring: 10/8/6/3/0) × 10
    response = 100 × min(1, STANDING_RESPONSE_TARGET_S / mean first reply after taking a conversation)
    handling = 100 × min(1, STANDING_HANDLING_TARGET_S / mean handling time, taken → finished)
    grabs    = 100 × min(1, grabs / STANDING_GRABS_TARGET)

    score = Σ weight × part / Σ weight (over the parts that have data) − STANDING_BAD_PENALTY × verified bad,
            never below 0; no score at all for an agent with nothing in the window.

Ratings marked by an upheld appeal are left out; a verified bad rating is a 不满意/非常不满意 whose case was
verified and whose appeal was not upheld. The response and handling times and grabs are the console's own
(agent_console.stats.per_agent), so the supervisor page and the standing never disagree.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import stats
from core.settings import Settings
from ratings import scoring
from ratings.levels import Level
from ratings.models import Rating, RectificationCase
from staff.models import Agent, Role

PARTS = ("ratings", "response", "handling", "grabs")


@dataclass
class Figures:
    """What one agent did in a period: the raw figures behind the score and the performance sheet."""

    agent_id: int
    levels: dict[int, int] = field(default_factory=lambda: {int(level): 0 for level in Level})
    marked: int = 0  # ratings marked by an upheld appeal: shown, never counted
    verified_bad: int = 0
    first_response_s: float | None = None
    handling_s: float | None = None
    grabs: int = 0
    taken: int = 0  # grabs, pushes and transfers in
    handled: int = 0  # conversations finished

    @property
    def ratings(self) -> int:
        return sum(self.levels.values())

    def mean_score(self, settings: Settings) -> float | None:
        if not self.ratings:
            return None
        return sum(scoring.score(level, settings) * n for level, n in self.levels.items()) / self.ratings

    @property
    def active(self) -> bool:
        return bool(self.ratings or self.taken or self.handled or self.verified_bad)


@dataclass(frozen=True)
class Score:
    value: float | None
    parts: dict[str, float | None]
    penalty: float


def _capped(ratio: float) -> float:
    return round(100 * min(1.0, ratio), 2)


def parts(figures: Figures, settings: Settings) -> dict[str, float | None]:
    mean = figures.mean_score(settings)
    first, handling = figures.first_response_s, figures.handling_s
    return {
        "ratings": None if mean is None else round(mean * 10, 2),
        "response": None if first is None else _capped(settings.standing_response_target_s / first if first else 1),
        "handling": None if handling is None else _capped(
            settings.standing_handling_target_s / handling if handling else 1),
        "grabs": _capped(figures.grabs / settings.standing_grabs_target) if figures.active else None,
    }


def weights(settings: Settings) -> dict[str, float]:
    return {"ratings": settings.standing_weight_ratings, "response": settings.standing_weight_response,
            "handling": settings.standing_weight_handling, "grabs": settings.standing_weight_grabs}


def compute(figures: Figures, settings: Settings) -> Score:
    """The documented formula (module docstring), with its parts for display."""
    found = parts(figures, settings)
    weight = weights(settings)
    counted = {name: value for name, value in found.items() if value is not None and weight[name] > 0}
    penalty = round(settings.standing_bad_penalty * figures.verified_bad, 2)
    total_weight = sum(weight[name] for name in counted)
    if not total_weight:
        return Score(None, found, penalty)
    mean = sum(weight[name] * value for name, value in counted.items()) / total_weight
    return Score(round(max(0.0, mean - penalty), 1), found, penalty)


def formula(settings: Settings) -> dict:
    """The formula as the pages show it: weights, targets and the penalty in force."""
    return {
        "window_days": settings.standing_window_days, "weights": weights(settings),
        "response_target_s": settings.standing_response_target_s,
        "handling_target_s": settings.standing_handling_target_s, "grabs_target": settings.standing_grabs_target,
        "bad_penalty": settings.standing_bad_penalty, "min_score": settings.standing_min_score,
        "min_ratings": settings.standing_min_ratings, "max_verified_bad": settings.standing_max_verified_bad,
        "scores": {str(level): value for level, value in scoring.scores(settings).items()},
        "text": ("评分 = 各项得分按权重加权平均（评价、首次响应、处理时长、抢单）"
                 f" − 每条核实差评扣{settings.standing_bad_penalty:g}分；统计最近{settings.standing_window_days}天。"),
    }


async def gather(session: AsyncSession, since: datetime, until: datetime,
                  agent_ids: Iterable[int] | None = None) -> dict[int, Figures]:
    """Every agent's figures over [since, until): ratings by when they were given, verified bad ratings of
    that period, and the console's times and grabs."""
    wanted = set(agent_ids) if agent_ids is not None else None
    found: dict[int, Figures] = defaultdict(lambda: Figures(0))

    def of(agent_id: int | None) -> Figures:
        assert agent_id is not None  # the queries ask for rated agents only
        entry = found[agent_id]
        entry.agent_id = agent_id
        return entry

    in_period: list[ColumnElement[bool]] = [
        Rating.created_at >= since, Rating.created_at < until, Rating.agent_id.is_not(None)]
    if wanted is not None:
        in_period.append(Rating.agent_id.in_(wanted))
    rows = await session.execute(
        select(Rating.agent_id, Rating.level, Rating.mark.is_not(None), func.count())
        .where(*in_period).group_by(Rating.agent_id, Rating.level, Rating.mark.is_not(None))
    )
    for agent_id, level, marked, count in rows.all():
        entry = of(agent_id)
        if marked:
            entry.marked += count
        elif level in entry.levels:
            entry.levels[level] += count
    verified = await session.execute(
        select(Rating.agent_id, func.count())
        .join(RectificationCase, RectificationCase.rating_id == Rating.id)
        .where(*in_period, Rating.mark.is_(None), Rating.level <= int(Level.DISSATISFIED),
               RectificationCase.verified_at.is_not(None),
               func.coalesce(RectificationCase.appeal, "") != "upheld")
        .group_by(Rating.agent_id)
    )
    for agent_id, count in verified.all():
        of(agent_id).verified_bad = count
    for row in await stats.per_agent(session, since, until, wanted):
        entry = of(row["agent_id"])
        entry.grabs = row["grabs"]
        entry.taken = row["grabs"] + row["pushed"] + row["transferred_in"]
        entry.handled = row["finished"]
        entry.first_response_s, entry.handling_s = row["first_response_s"], row["handling_s"]
    return dict(found)


async def serving_agents(session: AsyncSession) -> list[Agent]:
    """The accounts that serve citizens (a campaigner never does), active ones, by name."""
    rows = await session.scalars(
        select(Agent).where(Agent.active.is_(True), Agent.role != Role.CAMPAIGNER).order_by(Agent.display_name)
    )
    return list(rows.all())


def window(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=settings.standing_window_days), now


def ranks(values: dict[int, float | None]) -> dict[int, int | None]:
    """1 for the best score; equal scores share a rank (1, 2, 2, 4); no score, no rank."""
    scored = sorted((v for v in values.values() if v is not None), reverse=True)
    return {agent_id: (None if v is None else scored.index(v) + 1) for agent_id, v in values.items()}
