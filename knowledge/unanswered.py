"""Questions the bot could not answer, or answered unsure, and the report that groups them.

They are recorded where they happen, at the knowledge answer endpoint: every `none`, `clarify` and
`decline`, and every answer whose rankers' confidence was below KNOWLEDGE_LOW_CONFIDENCE. Personal
numbers are masked before anything is stored. The report groups similar wordings (same nearest
article, close after a simple normalisation), most frequent first, so staff see which article to
write next and which wordings to add to an article's `questions:`.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import utcnow
from core.logmask import mask_personal
from knowledge.answer import Answer, Status
from knowledge.models import MissKind, UnansweredQuestion
from knowledge.search import Hit, KnowledgeBase

log = logging.getLogger(__name__)
SIMILAR = 0.5           # shared character bigrams (Dice) from which two wordings are one question
EXAMPLES = 5            # wordings shown per group
MAX_ROWS = 50_000       # a report reads at most this many records (the newest)
DEFAULT_DAYS = 30       # a report without `since` covers this many days
LOCAL = ZoneInfo("Asia/Shanghai")  # times without a zone are the centre's
_FILLERS = re.compile(
    "请问|你好|您好|麻烦问一下|麻烦问下|想问一下|想问下|问一下|问下|我想知道|我想问|谢谢|吗|呢|啊|呀|吧|哦|嘛|啦"
)
_DIGITS = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[\W_]+")
_KINDS = {Status.NONE: MissKind.NONE, Status.CLARIFY: MissKind.CLARIFY, Status.DECLINE: MissKind.DECLINE}


class SearchObserver:
    """The knowledge base as the answerer sees it, remembering each query's best hit, so the
    endpoint learns the confidence behind an answer without searching twice or touching the
    answerer's decisions."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._top: dict[str, Hit | None] = {}

    def search(self, query: str, *args: Any, **kwargs: Any) -> list[Hit]:
        hits = self._kb.search(query, *args, **kwargs)
        self._top.setdefault(query, hits[0] if hits else None)
        return hits

    def top(self, query: str) -> Hit | None:
        return self._top.get(query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kb, name)


@dataclass(frozen=True)
class Miss:
    question: str
    kind: MissKind
    confidence: float | None
    nearest: Hit | None
    intent: str | None
    rule: str | None = None  # what decided it: the answer's explanation (knowledge.answer.Rule)


def miss_of(
    question: str, answer: Answer, top: Hit | None, *, low_confidence: float, intent: str | None
) -> Miss | None:
    """What to record about one answer, or None for a confident one."""
    confidence = top.confidence if top is not None else None
    kind = _KINDS.get(answer.status)
    if kind is None and answer.status == Status.ANSWER and confidence is not None and confidence < low_confidence:
        kind = MissKind.LOW_CONFIDENCE
    if kind is None:
        return None
    rule = answer.explain.get("rule")
    return Miss(question, kind, confidence, top, intent, str(rule)[:32] if rule else None)


async def record(sessions: async_sessionmaker[AsyncSession], miss: Miss) -> None:
    """Store one miss (after the reply went out: a failure here costs the citizen nothing)."""
    question = mask_personal(miss.question)
    try:
        async with sessions() as session:
            session.add(UnansweredQuestion(
                question=question[:1000], normalised=normalise(question), kind=miss.kind, confidence=miss.confidence,
                nearest_article_id=miss.nearest.article_id if miss.nearest else None,
                nearest_title=miss.nearest.title[:200] if miss.nearest else None, intent=miss.intent,
                rule=miss.rule,
            ))
            await session.commit()
    except Exception:
        log.exception("could not record an unanswered question")


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, numbers as #, no punctuation, spaces or polite fillers."""
    text = _FILLERS.sub("", _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower()))
    return _DIGITS.sub("#", text)[:200]


def _grams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1)) or frozenset(text)


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    # Dice rather than Jaccard: "公积金能交物业费" and "物业费能用公积金交" share 4 of 7 and 8 bigrams.
    return bool(a or b) and 2 * len(a & b) / (len(a) + len(b)) >= SIMILAR


@dataclass
class _Group:
    nearest_id: str | None
    wordings: list[frozenset[str]] = field(default_factory=list)  # bigrams of each distinct normalised text
    rows: list[UnansweredQuestion] = field(default_factory=list)

    def takes(self, nearest_id: str | None, grams: frozenset[str]) -> bool:
        return nearest_id == self.nearest_id and any(_similar(grams, known) for known in self.wordings)

    def to_dict(self) -> dict:
        wordings = Counter(row.question for row in self.rows)
        kinds = Counter(row.kind for row in self.rows)
        rules = Counter(row.rule for row in self.rows if row.rule)
        asked = [row.asked_at for row in self.rows]
        titles = [row.nearest_title for row in self.rows if row.nearest_title]
        return {
            "count": len(self.rows),
            "question": wordings.most_common(1)[0][0],
            "examples": [text for text, _ in wordings.most_common(EXAMPLES)],
            "kinds": dict(kinds.most_common()),
            "rules": dict(rules.most_common()),
            "nearest_article": {"id": self.nearest_id, "title": titles[0] if titles else None}
            if self.nearest_id else None,
            "first_asked_at": min(asked).isoformat(),
            "last_asked_at": max(asked).isoformat(),
        }


def group(rows: list[UnansweredQuestion]) -> list[dict]:
    """Similar questions together, the most frequent group first."""
    same: dict[tuple[str | None, str], list[UnansweredQuestion]] = {}
    for row in rows:
        same.setdefault((row.nearest_article_id, row.normalised), []).append(row)
    groups: list[_Group] = []
    # Biggest first: a frequent wording founds the group that rarer variants join.
    for (nearest_id, text), members in sorted(same.items(), key=lambda item: -len(item[1])):
        grams = _grams(text)
        home = next((g for g in groups if g.takes(nearest_id, grams)), None)
        if home is None:
            home = _Group(nearest_id)
            groups.append(home)
        home.wordings.append(grams)
        home.rows.extend(members)
    groups.sort(key=lambda g: (-len(g.rows), -max(r.asked_at for r in g.rows).timestamp()))
    return [g.to_dict() for g in groups]


def period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The report's window: naive times are the centre's local time; by default the last 30 days."""
    until = _aware(until) if until is not None else utcnow()
    since = _aware(since) if since is not None else until - timedelta(days=DEFAULT_DAYS)
    return since, until


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL)


async def report(
    sessions: async_sessionmaker[AsyncSession], *, since: datetime | None = None, until: datetime | None = None,
    limit: int = 50,
) -> dict:
    since, until = period(since, until)
    async with sessions() as session:
        rows = list((await session.scalars(
            select(UnansweredQuestion)
            .where(UnansweredQuestion.asked_at >= since, UnansweredQuestion.asked_at < until)
            .order_by(UnansweredQuestion.asked_at.desc()).limit(MAX_ROWS)
        )).all())
    groups = group(rows)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "total": len(rows),
        "by_decision": by_decision(rows),
        "groups": groups[:limit],
    }


def by_decision(rows: list[UnansweredQuestion]) -> list[dict]:
    """How many were declined, clarified or left without a reliable answer, and by which rule: staff see
    whether the scope model, a close runner-up or low confidence holds answers back."""
    counts = Counter((row.kind, row.rule) for row in rows)
    return [{"decision": kind, "rule": rule, "count": n} for (kind, rule), n in counts.most_common()]
