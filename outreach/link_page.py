"""The 一点就能办 page a personal link opens, and the refusal pages: HTML made here, every value escaped.

Phone first: one column, large touch targets, the stylesheet and script served by the service
(outreach/static/), nothing inline, so the page's CSP allows only this origin.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from policy.checklist_rules import Checklist, Question
from policy.conditions import UNKNOWN, Node
from policy.eligibility import Result

STYLE = "/outreach/static/link.css"
SCRIPT = "/outreach/static/link.js"
# Facts arrive keyed by what the data calls them; the page says them in plain Chinese.
FACT_LABELS = {
    "name": "姓名", "max_loan_wan": "最高可贷（估算）", "loan_balance": "贷款余额", "monthly_payment": "月还款额",
    "new_monthly_payment": "调整后月还款额", "balance": "公积金账户余额", "employer": "单位",
}
OUTCOME_TITLES = {"eligible": "看起来符合条件", "not_eligible": "暂时不符合条件", "review": "需要中心审核确认"}


def _head(title: str) -> str:
    return (
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"referrer\" content=\"no-referrer\">"
        f"<title>{escape(title)}</title><link rel=\"stylesheet\" href=\"{STYLE}\"></head>"
    )


def refusal(centre: str, code: str, title: str, message: str) -> str:
    """A link that cannot be used: why, in Chinese, and nothing about the person it was for."""
    return (
        f"{_head(title)}<body data-code=\"{escape(code)}\"><main class=\"card refusal\">"
        f"<p class=\"centre\">{escape(centre)}</p><h1>{escape(title)}</h1><p>{escape(message)}</p>"
        "</main></body></html>"
    )


def _answer_text(question: Question, value: object) -> str:
    if question.type == "yes_no":
        return "是" if value is True else "否"
    if question.type == "choice":
        return next((c.text for c in question.choices if c.id == value), str(value))
    return f"{value:g}{question.unit}" if isinstance(value, (int, float)) else str(value)


def _holds(node: Node | None, answers: Mapping[str, object]) -> bool:
    return node is None or node.evaluate(answers) is True


def _field(question: Question, current: bool) -> str:
    qid = escape(question.id)
    attrs = f"class=\"question{' current' if current else ''}\" data-question=\"{qid}\" data-type=\"{question.type}\""
    parts = [f"<fieldset {attrs}{'' if current else ' hidden'}><legend>{escape(question.text)}</legend>"]
    if question.type == "yes_no":
        options: Iterable[tuple[str, str]] = (("true", "是"), ("false", "否"))
    elif question.type == "choice":
        options = ((c.id, c.text) for c in question.choices)
    else:
        options = ()
    for value, text in options:
        parts.append(f"<label class=\"option\"><input type=\"radio\" name=\"q-{qid}\" value=\"{escape(value)}\">"
                     f"<span>{escape(text)}</span></label>")
    if question.type == "number":
        low = "" if question.min is None else f" min=\"{question.min:g}\""
        high = "" if question.max is None else f" max=\"{question.max:g}\""
        parts.append(f"<label class=\"number\"><input type=\"number\" inputmode=\"decimal\" step=\"any\""
                     f" name=\"q-{qid}\"{low}{high}><span>{escape(question.unit)}</span></label>"
                     "<button type=\"button\" class=\"next\">确定</button>")
    parts.append("</fieldset>")
    return "".join(parts)


def _result(result: Result) -> str:
    outcome = escape(result.outcome)
    parts = [f"<section id=\"result\" class=\"card result {outcome}\" data-outcome=\"{outcome}\">",
             f"<h2>{escape(OUTCOME_TITLES[result.outcome])}</h2>"]
    if result.reasons:
        parts.append("<ul class=\"reasons\">" + "".join(f"<li>{escape(r)}</li>" for r in result.reasons) + "</ul>")
    if result.warnings:
        parts.append("<p class=\"label\">特别提醒</p><ul class=\"warnings\">"
                     + "".join(f"<li>{escape(w)}</li>" for w in result.warnings) + "</ul>")
    parts.append("<p class=\"note\">以上是按中心数据和您的回答做的初步判断，最终以中心受理审核为准。</p></section>")
    return "".join(parts)


def _documents(documents: list[str], *, asked: bool) -> str:
    items = "".join(f"<li>{escape(d)}</li>" for d in documents)
    empty = "回答上面的问题后显示需要准备的材料。" if asked else "请按网上办事大厅页面的提示准备材料。"
    hint = "" if documents else f"<li class=\"muted\">{empty}</li>"
    return (f"<section class=\"card\" id=\"documents\"><h2>需要准备的材料</h2>"
            f"<ol class=\"documents\">{items}{hint}</ol></section>")


def page(*, centre: str, hotline: str, token: str, business_name: str, facts: Mapping[str, object],
         checklist: Checklist | None, answers: Mapping[str, object], step: Question | Result | None) -> str:
    """The link's page: the person's facts, the checklist with what the data already answered, the
    questions still open, the documents and the one button to the online form."""
    title = f"{business_name} · 一点就能办"
    parts = [_head(title), f"<body data-code=\"ok\"><main data-token=\"{escape(token)}\">",
             f"<header><p class=\"centre\">{escape(centre)}</p><h1>{escape(business_name)}</h1></header>"]
    if facts:
        rows = "".join(f"<dt>{escape(FACT_LABELS.get(str(k), str(k)))}</dt><dd>{escape(str(v))}</dd>"
                       for k, v in facts.items())
        parts.append(f"<section class=\"card\" id=\"facts\"><h2>您的信息</h2><dl>{rows}</dl></section>")
    documents: list[str] = []
    if checklist is not None:
        parts.append(f"<section class=\"card\" id=\"checklist\"><h2>办理条件自查：{escape(checklist.title)}</h2>")
        known = [q for q in checklist.questions if q.id in answers]
        if known:
            parts.append("<p class=\"label\">中心数据已为您确认</p><ul class=\"answered\">" + "".join(
                f"<li data-answered=\"{escape(q.id)}\"><span>{escape(q.text)}</span>"
                f"<strong>{escape(_answer_text(q, answers[q.id]))}</strong></li>" for q in known) + "</ul>")
        open_questions = [q for q in checklist.questions if q.id not in answers]
        current = step.id if isinstance(step, Question) else None
        if open_questions and not isinstance(step, Result):
            parts.append("<p class=\"label\">还需要您回答</p><form id=\"questions\" novalidate>")
            parts.extend(_field(q, q.id == current) for q in open_questions)
            parts.append("</form><p id=\"error\" class=\"error\" role=\"alert\" hidden></p>")
        parts.append("</section>")
        if isinstance(step, Result):
            parts.append(_result(step))
            documents = step.documents
        else:
            parts.append("<div id=\"result-slot\"></div>")
            # Documents every remaining answer keeps needed; the rest appear with the result.
            view = {**{q.id: UNKNOWN for q in checklist.questions}, **answers}
            documents = [item.text for item in checklist.documents if _holds(item.when, view)]
    parts.append(_documents(documents, asked=checklist is not None))
    parts.append(
        f"<form class=\"go\" method=\"post\" action=\"/o/{escape(token)}/go\">"
        f"<button type=\"submit\" id=\"go\">去办理</button></form>"
        f"<p class=\"note\">点击后进入中心网上办事大厅，按页面提示登录后办理。有疑问请拨打{escape(hotline)}。</p>"
        f"</main><script src=\"{SCRIPT}\"></script></body></html>"
    )
    return "".join(parts)
