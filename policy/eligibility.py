"""The guided eligibility check: from a checklist and the answers so far, the next question or the outcome.

Pure functions over `policy.checklist_rules.Checklist`. Questions are taken in file order; one
whose `ask_if` does not hold is skipped. Before each question the engine asks whether a
"not eligible" rule already holds whatever the remaining answers are; if so it stops there, so the
citizen is never asked a question that cannot change the outcome.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from policy.checklist_rules import Checklist, Item, Question
from policy.conditions import UNKNOWN, Node

Outcome = Literal["eligible", "not_eligible", "review"]
MAX_ANSWER_CHARS = 64


class AnswerError(ValueError):
    """An answer the checklist cannot take; `message` is Chinese, fit to show the citizen."""

    def __init__(self, code: str, message: str, question: str) -> None:
        super().__init__(code)
        self.code, self.message, self.question = code, message, question


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    reasons: list[str]
    documents: list[str]
    warnings: list[str]
    text: str
    business_link: dict | None
    answered: dict[str, object] = field(default_factory=dict)  # the answers that counted


def _check(question: Question, value: object) -> object:
    if question.type == "yes_no":
        if not isinstance(value, bool):
            raise AnswerError("invalid_answer", f"“{question.text}”请回答“是”或“否”。", question.id)
        return value
    if question.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise AnswerError("invalid_answer", f"“{question.text}”请填一个数字。", question.id)
        assert question.min is not None and question.max is not None
        if not question.min <= value <= question.max:
            unit = question.unit
            raise AnswerError(
                "answer_out_of_range",
                f"“{question.text}”请填 {question.min:g}{unit} 到 {question.max:g}{unit} 之间的数字。",
                question.id,
            )
        return value
    if not isinstance(value, str) or value not in question.choice_ids():
        offered = "、".join(f"{c.text}（{c.id}）" for c in question.choices)
        raise AnswerError("invalid_answer", f"“{question.text}”请从这些选项里选一个：{offered}。", question.id)
    return value


def check_answers(checklist: Checklist, answers: Mapping[str, object]) -> dict[str, object]:
    """The answers, each checked against its question's type; raises `AnswerError` on the first bad one."""
    checked = {}
    for question_id, value in answers.items():
        question = checklist.question(question_id)
        if question is None:
            name = question_id[:MAX_ANSWER_CHARS]
            raise AnswerError("unknown_question", f"{checklist.title}的清单里没有问题“{name}”。", name)
        checked[question_id] = _check(question, value)
    return checked


def _holds(node: Node | None, answers: Mapping[str, object]) -> bool:
    return node is None or node.evaluate(answers) is True


def next_step(checklist: Checklist, answers: Mapping[str, object]) -> Question | Result:
    """The next question to ask, or the outcome once it is settled."""
    given = check_answers(checklist, answers)
    known: dict[str, object] = {}  # answered questions; skipped ones stay absent
    for index, question in enumerate(checklist.questions):
        if not _holds(question.ask_if, known):
            continue
        if question.id in given:
            known[question.id] = given[question.id]
            continue
        # This one is next. Every question from here on is still open.
        open_view = {**known, **{q.id: UNKNOWN for q in checklist.questions[index:]}}
        if any(rule.outcome == "not_eligible" and _holds(rule.when, open_view) for rule in checklist.rules):
            return _result(checklist, open_view, known)
        return question
    return _result(checklist, known, known)


def _texts(items: tuple[Item, ...], answers: Mapping[str, object]) -> list[str]:
    return [item.text for item in items if _holds(item.when, answers)]


def _result(checklist: Checklist, view: Mapping[str, object], answered: dict[str, object]) -> Result:
    blocking = [r.reason for r in checklist.rules if r.outcome == "not_eligible" and _holds(r.when, view)]
    review = [r.reason for r in checklist.rules if r.outcome == "review" and _holds(r.when, view)]
    outcome: Outcome = "not_eligible" if blocking else "review" if review else "eligible"
    reasons = blocking or review
    # Documents and general advice only matter to someone who can apply; a warning about their own
    # answers ("the lease is not registered") matters to everyone.
    documents = [] if blocking else _texts(checklist.documents, view)
    warnings = _texts(tuple(w for w in checklist.warnings if w.when is not None or not blocking), view)
    link = None if blocking else checklist.business_link
    text = summary(checklist, outcome, reasons, documents, warnings, link)
    return Result(outcome, reasons, documents, warnings, text, link, dict(answered))


_OPENINGS = {
    "eligible": "根据您的回答，您看起来符合{title}的条件。",
    "not_eligible": "根据您的回答，您暂时不符合{title}的条件：",
    "review": "根据您的回答，{title}能否办理还需要中心审核确认：",
}


def summary(
    checklist: Checklist,
    outcome: Outcome,
    reasons: list[str],
    documents: list[str],
    warnings: list[str],
    link: dict | None,
) -> str:
    """What the bot says: the verdict and why, the documents numbered, then the warnings."""
    parts = [_OPENINGS[outcome].format(title=checklist.title) + "".join(f"\n- {reason}" for reason in reasons)]
    if documents:
        parts.append("请准备这些材料（网上办理拍照上传，原件留好备查）：" + "".join(
            f"\n{i}. {text}" for i, text in enumerate(documents, 1)
        ))
    if warnings:
        parts.append("特别提醒：" + "".join(f"\n- {text}" for text in warnings))
    closing = "以上是按您的回答做的初步判断，最终以中心受理审核为准。"
    if link:
        closing += f"可以在网上办理：{link['title']}。"
    parts.append(closing)
    return "\n\n".join(parts)


def question_body(question: Question) -> dict:
    """A question as the API gives it: yes/no questions take true/false, choices their ids."""
    body: dict = {
        "id": question.id,
        "text": question.text,
        "type": question.type,
        "choices": [{"id": c.id, "text": c.text} for c in question.choices],
    }
    if question.type == "number":
        body.update(min=question.min, max=question.max, unit=question.unit)
    return body
