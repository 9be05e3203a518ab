"""The cheap parts of answering real wording: the evaluation copy and its split, the scope rules it
asked for, and the explanation a stored reply keeps for the console."""
from __future__ import annotations

from collections import Counter

import pytest

from bench.real_wording import REAL, load_real
from conversations.replies import from_rasa
from knowledge.scope import Scope, Verdict
from tests.conftest import ROOT

ARTICLES = {path.stem for path in (ROOT / "knowledge" / "articles").glob("*.md")}


@pytest.fixture(scope="module")
def scope():
    return Scope.load({"异地转移", "贷款条件"}, ROOT / "bot" / "dictionary")


def test_the_real_wording_copy_says_where_it_came_from_and_splits_every_topic_in_halves():
    assert REAL.read_text(encoding="utf-8").startswith("# Real citizen questions")
    questions = load_real()
    assert len(questions) == 250 and Counter(q.kind for q in questions) == {"in": 200, "oos": 40, "city": 10}
    assert {q.split for q in questions} == {"dev", "test"}
    assert abs(sum(q.split == "dev" for q in questions) - 125) <= 5
    for topic in {q.topic for q in questions if q.kind == "in"}:
        splits = Counter(q.split for q in questions if q.kind == "in" and q.topic == topic)
        assert abs(splits["dev"] - splits["test"]) <= 1, topic
    # The same split on every run: it is written in the file, not drawn.
    assert [q.split for q in load_real()] == [q.split for q in questions]


def test_every_in_scope_question_names_articles_that_exist():
    for q in load_real():
        if q.kind == "in":
            assert q.articles and q.articles <= ARTICLES, (q.text, q.articles - ARTICLES)
        else:
            assert not q.articles


@pytest.mark.parametrize(
    ("text", "verdict", "detail"),
    [
        ("在南京交的公积金想转到杭州去，要啥手续", Verdict.OTHER_CITY, "南京"),
        ("从石家庄转到邯郸来，公积金咋转", Verdict.IN_SCOPE, ""),
        ("镇江公积金提取条件", Verdict.OTHER_CITY, "镇江"),
        ("凭公积金缴存记录办的信用贷利息多少", Verdict.OTHER_DOMAIN, "商业银行"),
        ("物业欠费被起诉了咋办", Verdict.OTHER_DOMAIN, "法律纠纷"),
        ("招商银行的按揭晚还两天罚多少", Verdict.OTHER_DOMAIN, "商业银行"),
        ("在农行贷款买的房，能用账户里的钱还一部分吗", Verdict.IN_SCOPE, ""),
        ("公积金贷款条件", Verdict.IN_SCOPE, ""),
    ],
)
def test_scope_rules_for_two_other_cities_and_banks_products(scope, text, verdict, detail):
    result = scope.check(text)
    assert (result.verdict, result.detail) == (verdict, detail)


def test_a_stored_reply_keeps_the_explanation_bounded_for_the_console():
    explain = {
        "decision": "clarify", "rule": "close_runner_up", "not_ours": None, "unknown": "dropped",
        "top": [{"article": "withdraw-rent", "title": "租房提取", "score": 0.8, "confidence": 0.31, "agreement": 4,
                 "signals": "4", "x": 1}] * 9,
        "thresholds": {"min_confidence": 0.08, "close_score": "0.9"},
    }
    reply = from_rasa({"custom": {"text": "您想了解哪一项？", "buttons": [], "explain": explain}})
    assert reply is not None
    kept = reply.meta["explain"]
    assert set(kept) == {"decision", "rule", "top", "not_ours", "thresholds"}
    assert len(kept["top"]) == 5 and kept["top"][0] == {
        "article": "withdraw-rent", "title": "租房提取", "score": 0.8, "confidence": 0.31, "agreement": 4,
        "signals": None}
    assert kept["thresholds"] == {"min_confidence": 0.08, "close_score": None}
    # The citizen's copy of the reply carries no explanation.
    assert "explain" not in reply.to_api()
    assert from_rasa({"custom": {"text": "好的", "explain": "not a dict"}}).meta == {}


def test_misses_carry_their_rule_and_the_report_counts_them_by_decision():
    from knowledge.answer import Answer, Status
    from knowledge.models import MissKind, UnansweredQuestion
    from knowledge.unanswered import by_decision, miss_of

    none = Answer(Status.NONE, "…", explain={"decision": "none", "rule": "low_confidence"})
    miss = miss_of("公积金中心食堂几点开饭", none, None, low_confidence=0.4, intent=None)
    assert miss is not None and (miss.kind, miss.rule) == (MissKind.NONE, "low_confidence")
    rows = [UnansweredQuestion(kind=kind, rule=rule) for kind, rule in [
        ("none", "low_confidence"), ("decline", "scope_model"), ("none", "low_confidence"), ("clarify", None)]]
    assert by_decision(rows) == [
        {"decision": "none", "rule": "low_confidence", "count": 2},
        {"decision": "decline", "rule": "scope_model", "count": 1},
        {"decision": "clarify", "rule": None, "count": 1},
    ]
