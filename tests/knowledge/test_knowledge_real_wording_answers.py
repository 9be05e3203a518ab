"""Decisions on questions written for these tests in the way citizens ask (never copied from the real-wording
evaluation set): the new topics answered, procedure questions answered with the procedure, a bare word asked
back, a bank's own business declined; every answer explains itself."""
from __future__ import annotations

import pytest

from knowledge.answer import Answerer, Rule, Status


@pytest.fixture(scope="module")
def answerer(knowledge_base):
    return Answerer(knowledge_base, "12329")


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("单位一直不给我交公积金，这样合法吗", "deposit-employer-duties"),
        ("每个月的公积金一般几号能进账户", "deposit-timing"),
        ("连续缴存6个月从哪个月开始数", "deposit-continuous-months"),
        ("我妈住院做手术，能用我的公积金付医药费吗", "withdraw-serious-illness"),
        ("能不能把我的公积金给我儿子买房用", "withdraw-family-members"),
        ("公积金都能在哪些情况下取出来", "withdraw-overview"),
    ],
)
def test_the_topics_real_wording_showed_missing_are_answered(answerer, question, article):
    answer = answerer.answer(question)
    assert (answer.status, answer.article_id) == (Status.ANSWER, article), answer.explain
    assert answer.explain["decision"] == "answer" and answer.explain["top"][0]["article"] == article


@pytest.mark.parametrize(
    ("question", "article"), [("怎么投诉你们的工作人员", "service-complaints"), ("怎么办理租房提取", "withdraw-rent")]
)
def test_a_question_on_how_to_do_something_is_answered_with_the_procedure(answerer, question, article):
    answer = answerer.answer(question)
    assert (answer.status, answer.article_id) == (Status.ANSWER, article), answer.explain


@pytest.mark.parametrize("question", ["提取", "公积金贷款", "我想缴存"])
def test_a_bare_word_is_asked_back_with_two_or_three_buttons(answerer, question):
    answer = answerer.answer(question)
    assert answer.status == Status.CLARIFY and 2 <= len(answer.buttons) <= 3
    assert answer.explain["rule"] in (Rule.BROAD, Rule.CLOSE_RUNNER_UP, Rule.UNSURE_TOP)
    assert {b["title"] for b in answer.buttons} == {c["title"] for c in answer.explain["top"][:len(answer.buttons)]}


def test_a_banks_own_business_is_declined_by_rule_with_the_reason(answerer):
    answer = answerer.answer("招商银行的按揭晚还两天罚多少")
    assert answer.status == Status.DECLINE and "商业银行" in answer.text
    assert answer.explain["rule"] == Rule.OTHER_DOMAIN and answer.buttons
