"""The answerer's decision on fixed rankings (a stand-in knowledge base): answered when the first article
stands out and is likely, asked back when two or three are close or the first is unsure, and "no reliable
answer" with the nearest topics, the hotline and a person, never a dead end; each says why."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from knowledge.answer import ANSWER_CONFIDENCE, MIN_CONFIDENCE, Answerer, Rule, Status
from knowledge.scope import ScopeResult, Verdict
from knowledge.search import Hit

TITLES = {"rent": "租房提取", "base": "缴存基数", "caps": "贷款额度上限", "rates": "贷款利率"}


def hit(article: str, score: float, confidence: float, agreement: int = 0, signals: int = 4) -> Hit:
    return Hit(article, TITLES[article], score, confidence, "", "", 0.0, 0.0, agreement, signals)


class StandIn:
    """Searchable with a fixed ranking: every question names the fund, so only the ranking decides."""

    def __init__(self, hits: list[Hit]) -> None:
        self._hits = hits
        self.index = SimpleNamespace(articles={a: {"category": "提取"} for a in TITLES})
        self.scope = SimpleNamespace(check=lambda q: ScopeResult(Verdict.IN_SCOPE, names_fund=True))

    def article(self, article_id: str) -> dict | None:
        return {"id": article_id, "title": TITLES[article_id], "summary": f"{TITLES[article_id]}的答案。",
                "sections": [], "effective_date": "2019-03-24", "source": "条例"}

    def not_ours(self, question: str) -> float | None:
        return None

    def search(self, query: str, k: int = 5, weights: object = None, boost: object = None) -> list[Hit]:
        return self._hits[:k]

    def best_section(self, article_id: str, query: str) -> Hit | None:
        return None


def decide(hits: list[Hit]):
    return Answerer(StandIn(hits), "12329").answer("公积金的问题")  # type: ignore[arg-type]


def test_a_likely_first_article_that_stands_out_is_answered_and_says_why():
    answer = decide([hit("rent", 0.9, 0.62), hit("base", 0.3, 0.05), hit("caps", 0.2, 0.03)])
    assert (answer.status, answer.article_id) == (Status.ANSWER, "rent")
    explain = answer.explain
    assert (explain["decision"], explain["rule"]) == ("answer", Rule.CLEAR_TOP)
    assert [c["article"] for c in explain["top"]] == ["rent", "base", "caps"]
    assert explain["top"][0] == {"article": "rent", "title": "租房提取", "score": 0.9, "confidence": 0.62,
                                 "agreement": 0, "signals": 4}
    assert explain["thresholds"]["min_confidence"] == MIN_CONFIDENCE


def test_close_articles_are_asked_back_with_buttons():
    answer = decide([hit("caps", 0.8, 0.30), hit("base", 0.78, 0.28), hit("rates", 0.2, 0.02)])
    assert answer.status == Status.CLARIFY and answer.explain["rule"] == Rule.CLOSE_RUNNER_UP
    assert [b["title"] for b in answer.buttons] == ["贷款额度上限", "缴存基数"]


def test_an_unsure_first_article_is_offered_among_the_nearest_rather_than_answered():
    confidence = (MIN_CONFIDENCE + ANSWER_CONFIDENCE) / 2
    answer = decide([hit("base", 0.9, confidence), hit("caps", 0.4, 0.01), hit("rates", 0.3, 0.01)])
    assert answer.status == Status.CLARIFY and answer.explain["rule"] == Rule.UNSURE_TOP
    assert [b["title"] for b in answer.buttons] == ["缴存基数", "贷款额度上限", "贷款利率"]


def test_a_first_article_every_signal_puts_first_is_answered_despite_a_close_runner_up():
    close = [hit("caps", 0.8, 0.30, agreement=4), hit("base", 0.78, 0.28), hit("rates", 0.2, 0.02)]
    answer = decide(close)
    assert (answer.status, answer.article_id, answer.explain["rule"]) == (Status.ANSWER, "caps", Rule.SIGNALS_AGREE)
    # One signal dissenting is not agreement: the close runner-up is asked about.
    close[0] = hit("caps", 0.8, 0.30, agreement=3)
    assert decide(close).explain["rule"] == Rule.CLOSE_RUNNER_UP
    # Agreement never lifts a first article below the floor, and two signals alone are not enough.
    assert decide([hit("caps", 0.8, MIN_CONFIDENCE / 2, agreement=4)]).status == Status.NONE
    assert decide([hit("caps", 0.8, 0.3, 2, 2), hit("base", 0.78, 0.28)]).status == Status.CLARIFY


def test_a_business_named_alone_is_asked_back_whatever_the_ranking_says():
    hits = [hit("rent", 0.9, 0.62, agreement=4), hit("base", 0.3, 0.05), hit("caps", 0.2, 0.03)]
    answer = Answerer(StandIn(hits), "12329").answer("公积金提取？")  # type: ignore[arg-type]
    assert (answer.status, answer.explain["rule"]) == (Status.CLARIFY, Rule.BROAD)
    assert [b["title"] for b in answer.buttons] == ["租房提取", "缴存基数", "贷款额度上限"]
    assert Answerer(StandIn(hits), "12329").answer("租房提取").status == Status.ANSWER  # type: ignore[arg-type]


@pytest.mark.parametrize("hits", [[], [hit("rent", 0.2, 0.01), hit("base", 0.1, 0.01), hit("caps", 0.1, 0.0)]])
def test_no_reliable_answer_offers_the_nearest_topics_the_hotline_and_a_person(hits):
    answer = decide(hits)
    assert answer.status == Status.NONE and answer.explain["rule"] == Rule.LOW_CONFIDENCE
    titles = [b["title"] for b in answer.buttons]
    assert titles[:-1] == [h.title for h in hits[:3]] and answer.buttons[-1]["payload"] == "转人工"
    assert "12329" in answer.text and "转人工" in answer.text
    if hits:  # a voice caller hears the topics too
        assert "您是不是想问" in answer.text and all(h.title in answer.text for h in hits)
