"""The unanswered-questions report: what counts as a miss, masking, normalisation, grouping by wording
and nearest article, most frequent first, and the period asked for."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from knowledge.answer import Answer, Status
from knowledge.models import MissKind, UnansweredQuestion
from knowledge.search import Hit
from knowledge.unanswered import Miss, miss_of, normalise, record, report

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=timezone.utc)


def hit(article_id: str = "rent", confidence: float = 0.9) -> Hit:
    return Hit(article_id, f"标题-{article_id}", 0.5, confidence, "", "", 0.0, 0.0)


@pytest.mark.parametrize(
    ("status", "confidence", "kind"),
    [(Status.NONE, 0.05, MissKind.NONE), (Status.CLARIFY, 0.5, MissKind.CLARIFY), (Status.DECLINE, None,
     MissKind.DECLINE), (Status.ANSWER, 0.2, MissKind.LOW_CONFIDENCE), (Status.ANSWER, 0.8, None),
     (Status.ANSWER, None, None)],
)
def test_what_counts_as_a_miss(status, confidence, kind):
    top = hit(confidence=confidence) if confidence is not None else None
    miss = miss_of("问题", Answer(status, "…"), top, low_confidence=0.4, intent="ask_withdrawal")
    assert (miss.kind if miss else None) == kind
    if miss:
        assert (miss.confidence, miss.intent) == (confidence, "ask_withdrawal")


def test_wordings_are_normalised_before_grouping():
    assert normalise("请问，公积金能交物业费吗？") == normalise("公积金能交物业费") == "公积金能交物业费"
    assert normalise("我能贷５０万吗") == normalise("我能贷80万呢") == "我能贷#万"
    assert normalise("ＡＢＣ  公积金!!") == "abc公积金"


async def add(sessions, question: str, kind: MissKind, nearest: str | None, at: datetime) -> None:
    async with sessions() as session:
        session.add(UnansweredQuestion(asked_at=at, question=question, normalised=normalise(question), kind=kind,
                                       nearest_article_id=nearest, nearest_title=f"标题-{nearest}" if nearest else None))
        await session.commit()


async def test_similar_questions_are_grouped_most_frequent_first(sessions):
    asked = [
        ("物业费能用公积金交吗", MissKind.NONE, "rent"), ("公积金能交物业费吗", MissKind.NONE, "rent"),
        ("请问公积金能交物业费吗？", MissKind.LOW_CONFIDENCE, "rent"), ("公积金能交物业费吗", MissKind.NONE, "rent"),
        ("公积金能交物业费吗", MissKind.NONE, "rates"),  # same words, another nearest article: another group
        ("装修能取公积金吗", MissKind.CLARIFY, "rent"), ("装修可以提取公积金吗", MissKind.CLARIFY, "rent"),
        ("明天下雨吗", MissKind.DECLINE, None),
    ]
    for minutes, (question, kind, nearest) in enumerate(asked):
        await add(sessions, question, kind, nearest, NOW + timedelta(minutes=minutes))
    await add(sessions, "上个月的问题", MissKind.NONE, None, NOW - timedelta(days=40))

    result = await report(sessions, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))

    assert result["total"] == len(asked)
    groups = result["groups"]
    assert [g["count"] for g in groups] == [4, 2, 1, 1]
    fees = groups[0]
    assert fees["question"] == "公积金能交物业费吗" and fees["examples"][0] == "公积金能交物业费吗"
    assert set(fees["examples"]) == {"公积金能交物业费吗", "物业费能用公积金交吗", "请问公积金能交物业费吗？"}
    assert fees["kinds"] == {"none": 3, "low_confidence": 1}
    assert fees["nearest_article"] == {"id": "rent", "title": "标题-rent"}
    assert groups[1]["kinds"] == {"clarify": 2}
    assert {g["nearest_article"]["id"] if g["nearest_article"] else None for g in groups[2:]} == {"rates", None}
    assert fees["first_asked_at"] < fees["last_asked_at"]
    assert (await report(sessions, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1), limit=1))[
        "groups"] == groups[:1]


async def test_recorded_questions_carry_no_personal_numbers(sessions):
    question = "身份证130402199001011234，电话13812345678，公积金咋查"
    await record(sessions, Miss(question, MissKind.NONE, 0.05, hit(), "ask_account"))
    groups = (await report(sessions))["groups"]
    assert groups[0]["question"] == "身份证130402********1234，电话138****5678，公积金咋查"
    assert groups[0]["nearest_article"]["id"] == "rent"


async def test_naive_times_are_the_centres_local_time(sessions):
    await add(sessions, "公积金咋查", MissKind.NONE, None, datetime(2026, 11, 19, 16, 30, tzinfo=timezone.utc))
    # 00:30 on 20 November in Shanghai: in a report of that local day, not of the 19th.
    assert (await report(sessions, since=datetime(2026, 11, 20), until=datetime(2026, 11, 21)))["total"] == 1
    assert (await report(sessions, since=datetime(2026, 11, 19), until=datetime(2026, 11, 20)))["total"] == 0
