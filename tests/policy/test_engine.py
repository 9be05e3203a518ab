"""The condition language and the engine on small hand-made checklists: skipping, stopping early,
answers that do not fit, and the outcome's composition."""
import pytest

from policy import conditions
from policy.checklist_rules import parse_checklist
from policy.conditions import UNKNOWN, ConditionError
from policy.eligibility import AnswerError, Result, next_step
from tests.policy.helpers import walk

PARAMS = {"withdrawal": {"rent": {"min_deposit_months": 3}}, "business": {"x": {"name": "网上办", "url": "https://e/x"}}}

TOY = """
title: 测试提取
articles: [toy]
business: x
source: 测试
questions:
  - {id: own_home, text: 有房吗, type: yes_no}
  - {id: months, text: 缴存几个月, type: number, min: 0, max: 600, unit: 个月}
  - id: mode
    text: 怎么取
    type: choice
    choices: [{id: quota, text: 按额度}, {id: actual, text: 按实际}]
  - {id: registered, text: 合同备案了吗, type: yes_no, ask_if: mode == actual}
  - {id: married, text: 结婚了吗, type: yes_no}
rules:
  - {if: own_home == yes, outcome: not_eligible, reason: 有房不行}
  - {if: "months < {{withdrawal.rent.min_deposit_months}}", outcome: not_eligible, reason: 缴存不够}
  - {if: registered == no and married == no, outcome: review, reason: 要审核}
documents:
  - 身份证
  - {text: 备案合同, if: registered == yes}
  - {text: 结婚证, if: married == yes}
warnings:
  - {text: 未备案, if: registered == no}
  - 通用提醒
"""


@pytest.fixture
def toy():
    return parse_checklist(TOY, "toy.yml", PARAMS)


def test_questions_come_in_order_and_ask_if_skips(toy):
    assert next_step(toy, {}).id == "own_home"
    assert next_step(toy, {"own_home": False, "months": 5}).id == "mode"
    assert next_step(toy, {"own_home": False, "months": 5, "mode": "quota"}).id == "married"
    assert next_step(toy, {"own_home": False, "months": 5, "mode": "actual"}).id == "registered"


def test_answers_to_skipped_questions_do_not_count(toy):
    result = next_step(toy, {"own_home": False, "months": 5, "mode": "quota", "registered": True, "married": False})
    assert isinstance(result, Result)
    assert "备案合同" not in result.documents and "registered" not in result.answered


def test_stops_as_soon_as_a_refusal_is_settled(toy):
    result = next_step(toy, {"own_home": True})
    assert isinstance(result, Result) and result.outcome == "not_eligible" and result.reasons == ["有房不行"]
    # Refused: no documents, no link, and only the warnings about the citizen's own answers.
    assert result.documents == [] and result.business_link is None and result.warnings == []


def test_a_review_rule_does_not_stop_the_questions(toy):
    step = next_step(toy, {"own_home": False, "months": 5, "mode": "actual", "registered": False})
    assert getattr(step, "id", None) == "married"


def test_outcomes_collect_every_reason_and_item_that_holds(toy):
    result, asked = walk(toy, {"own_home": False, "months": 3, "mode": "actual", "registered": False, "married": False})
    assert result.outcome == "review" and result.reasons == ["要审核"]
    assert result.documents == ["身份证"] and result.warnings == ["未备案", "通用提醒"]
    assert result.business_link == {"title": "网上办", "url": "https://e/x"}
    assert result.text.startswith("根据您的回答，测试提取能否办理还需要中心审核确认：\n- 要审核")
    assert "1. 身份证" in result.text and "- 未备案" in result.text and "网上办" in result.text
    eligible, _ = walk(toy, {"own_home": False, "months": 9, "mode": "actual", "registered": True, "married": True})
    assert eligible.outcome == "eligible" and eligible.documents == ["身份证", "备案合同", "结婚证"]


def test_several_refusals_are_all_given_when_answers_arrive_together(toy):
    result = next_step(toy, {"own_home": True, "months": 1})
    assert result.reasons == ["有房不行", "缴存不够"]


@pytest.mark.parametrize(
    ("answers", "code", "question"),
    [
        ({"own_home": 1}, "invalid_answer", "own_home"),          # a number where yes/no is expected
        ({"own_home": "yes"}, "invalid_answer", "own_home"),      # yes/no takes true/false
        ({"months": True}, "invalid_answer", "months"),           # a boolean is not a number
        ({"months": "五"}, "invalid_answer", "months"),
        ({"months": 601}, "answer_out_of_range", "months"),
        ({"months": -1}, "answer_out_of_range", "months"),
        ({"months": float("nan")}, "invalid_answer", "months"),
        ({"mode": "cash"}, "invalid_answer", "mode"),             # a choice not offered
        ({"mode": 1}, "invalid_answer", "mode"),
        ({"colour": "red"}, "unknown_question", "colour"),
    ],
)
def test_invalid_answers_are_coded_chinese_errors(toy, answers, code, question):
    with pytest.raises(AnswerError) as caught:
        next_step(toy, answers)
    assert caught.value.code == code and caught.value.question == question
    assert any("\u4e00" <= ch <= "\u9fff" for ch in caught.value.message)


def test_choice_error_lists_the_choices(toy):
    with pytest.raises(AnswerError) as caught:
        next_step(toy, {"mode": "cash"})
    assert "按额度" in caught.value.message and "按实际" in caught.value.message


# The condition language on its own.

ANSWERS = {"a": True, "n": 5, "c": "x", "m": 2}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a == yes", True), ("a == no", False), ("a != no", True),
        ("n < 6", True), ("n >= 6", False), ("n + m > 6", True), ("n - m < 4", True), ("n + m <= 6", False),
        ("c in [x, y]", True), ("c in [y, z]", False), ("not c == x", False),
        ("a == yes and (n > 9 or c == x)", True), ("a == no or n == 5", True),
        ("skipped == yes", False), ("skipped != yes", False), ("not skipped == yes", True), ("skipped < 3", False),
    ],
)
def test_conditions_evaluate(text, expected):
    assert conditions.parse(text).evaluate(ANSWERS) is expected


def test_pending_answers_leave_a_condition_undecided_unless_settled():
    pending = {**ANSWERS, "later": UNKNOWN}
    assert conditions.parse("later == yes").evaluate(pending) is None
    assert conditions.parse("later == yes and a == no").evaluate(pending) is False
    assert conditions.parse("later == yes or a == yes").evaluate(pending) is True
    assert conditions.parse("not later == yes").evaluate(pending) is None
    assert conditions.parse("later + n > 3").evaluate(pending) is None


@pytest.mark.parametrize("text", ["", "a ==", "a = yes", "a == yes and", "(a == yes", "a yes", "n + m == 7",
                                  "a in x", "a in [and]", "a == yes)", "a == 年"])
def test_malformed_conditions_are_errors(text):
    with pytest.raises(ConditionError):
        conditions.parse(text)
