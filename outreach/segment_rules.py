"""Segments as rules: `policy/segments/<key>.yml`, next to the loan parameters and the checklists.

A segment names who is reached (`audience`, and `when`: a condition in the checklists' language over
the facts below), what they are offered (`business`, optionally a `checklist` whose questions the data
answers), which figures are computed for each person (`figures`), and the text for each channel. A
file is checked whole when read; a problem is reported as `<file>: <key>: <problem>`, like the
checklists, so the centre knows what to fix. docs/outreach.md describes the format and every fact.

    python -m outreach.segment_rules     # check every file, print the segments
"""
from __future__ import annotations

import re
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from policy import conditions
from policy.checklist_rules import ChecklistError, Checklists, Question, load_checklists
from policy.conditions import Compare, Equals, Node
from policy.params import load_params
from policy.rule_files import RuleReader, parse_file

Audience = Literal["depositors", "employer_admins", "assistants"]
Event = Literal["rate_change", "policy_article"]
Figures = Literal["none", "loan", "max_loan", "rate_change", "article"]
FactType = Literal["yes_no", "choice", "number"]
CHANNELS = ("sms", "wechat", "push", "card", "voice")
_KEY = re.compile(r"[a-z][a-z0-9-]*")


class SegmentError(ValueError):
    """A segment file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Fact:
    """Something the centre's data says about a person, by which a rule selects them."""

    type: FactType
    text: str
    choices: tuple[str, ...] = ()


_LOAN_KINDS = ("hpf", "commercial", "combination")
# The facts a rule may name, per audience. Loan facts describe one loan: a person with several loans
# matches when any one of them satisfies the rule (that loan's figures are used); a person without a
# loan has no loan facts, so every comparison with one is false (has_loan == no still holds).
FACTS: dict[str, dict[str, Fact]] = {
    "depositors": {
        "status": Fact("choice", "账户状态", ("normal", "sealed", "closed")),
        "age": Fact("number", "年龄（周岁）"),
        "balance": Fact("number", "账户余额（元）"),
        "monthly_deposit": Fact("number", "月缴存额（单位和个人合计，元）"),
        "monthly_base": Fact("number", "缴存基数（元）"),
        "continuous_months": Fact("number", "连续足额缴存月数"),
        "has_mobile": Fact("yes_no", "有中心核实的手机号"),
        "has_wechat": Fact("yes_no", "关联了微信"),
        "has_app": Fact("yes_no", "关联了 app 账号"),
        "has_loan": Fact("yes_no", "有未结清的贷款"),
        "loan_kind": Fact("choice", "贷款种类", _LOAN_KINDS),
        "repay_withdrawal": Fact("yes_no", "已签约偿还贷款提取（或按月冲还贷）"),
        "overdue": Fact("yes_no", "贷款有逾期"),
        "loan_balance": Fact("number", "贷款余额（元）"),
        "loan_rate": Fact("number", "贷款年利率（%）"),
        "remaining_months": Fact("number", "剩余还款月数"),
        "loan_method": Fact("choice", "还款方式", ("equal_installment", "equal_principal")),
    },
    "employer_admins": {
        "employer_status": Fact("choice", "单位状态", ("normal", "suspended", "closed")),
        "has_mobile": Fact("yes_no", "专管员有手机号"),
    },
    "assistants": {
        "assistant_kind": Fact("choice", "协办人员类别", ("developer", "bank")),
        "has_mobile": Fact("yes_no", "有手机号"),
    },
}

# The variables each kind of figures gives the texts ({name} …); `link` is the personal link.
_COMMON = ("name", "business_name", "link")
_LOAN = ("loan_kind_name", "loan_balance_wan", "remaining_months")
VARIABLES: dict[str, tuple[str, ...]] = {
    "none": (),
    "loan": _LOAN,
    "max_loan": ("max_loan_wan", "term_years", "loan_rate", "monthly_payment", "combination_note"),
    "rate_change": (*_LOAN, "old_rate", "new_rate", "old_payment", "new_payment", "payment_change"),
    "article": ("article_title",),
}
AUDIENCE_VARIABLES: dict[str, tuple[str, ...]] = {
    "depositors": (), "employer_admins": ("employer_name",), "assistants": ("organisation",),
}
# What each combination note may name: the HPF maximum and the commercial part for the amount needed.
COMBINATION_VARIABLES = ("need_wan", "max_loan_wan", "commercial_wan", "commercial_rate", "hpf_payment",
                         "commercial_payment", "total_payment", "term_years")


# The file's shape. Strict: a misspelt key is an error, not a silently ignored line.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = Annotated[str, Field(min_length=1)]


class _AnswerFrom(_Strict):
    fact: str | None = None
    value: str | float | bool | None = None


class _Combination(_Strict):
    target: Annotated[float, Field(gt=0)]
    commercial_rate: Annotated[float, Field(gt=0, le=15)]
    note: Text
    note_otherwise: Text


class _Estimate(_Strict):
    house_price: Annotated[float, Field(gt=0)]
    home: Literal["first", "second"] = "first"
    existing_monthly_repayment: Annotated[float, Field(ge=0)] = 0.0
    combination: _Combination | None = None


class _File(_Strict):
    title: Text
    audience: Audience
    event: Event | None = None
    when: Text
    business: Text
    checklist: str | None = None
    answers: dict[str, _AnswerFrom] = {}
    figures: Figures = "none"
    name_style: Literal["polite", "full"] = "polite"
    estimate: _Estimate | None = None
    messages: Annotated[dict[str, Text], Field(min_length=1)]


@dataclass(frozen=True)
class Combination:
    target: float  # yuan: what a person needs when no conversation says otherwise
    commercial_rate: float  # percent, the commercial part's assumed rate
    note: str  # a template over COMBINATION_VARIABLES, for those whose maximum is below what they need
    note_otherwise: str  # for those whose maximum covers it


@dataclass(frozen=True)
class Estimate:
    """What the data lacks for the maximum loan, assumed in the segment file (texts say 估算)."""

    house_price: float
    home: Literal["first", "second"]
    existing_monthly_repayment: float
    combination: Combination | None


@dataclass(frozen=True)
class AnswerFrom:
    """A checklist answer the data gives: a fact's value, or a fixed value true of everyone matched."""

    fact: str | None
    value: str | float | bool | None


@dataclass(frozen=True)
class Segment:
    key: str
    title: str
    audience: Audience
    when: Node
    when_text: str
    business: str
    business_name: str
    business_url: str
    checklist: str | None
    answers: Mapping[str, AnswerFrom]
    figures: Figures
    name_style: Literal["polite", "full"]
    messages: Mapping[str, str]  # channel → text with {variables}; parameters already rendered
    event: Event | None = None
    estimate: Estimate | None = None
    variables: tuple[str, ...] = field(default=())  # every variable a match carries


class _Reader(RuleReader[dict[str, Fact]]):
    error = SegmentError

    def __init__(self, name: str, params: dict, checklists: Checklists) -> None:
        super().__init__(name, params)
        self.checklists = checklists

    def _check_leaf(self, key: str, leaf: Compare | Equals, facts: dict[str, Fact]) -> None:
        for name in conditions.names_in(leaf):
            if name not in facts:
                raise self.fail(key, f"{name} 不是这类对象的数据项（可用：{', '.join(facts)}）")
        if isinstance(leaf, Compare):
            for name in conditions.names_in(leaf):
                if facts[name].type != "number":
                    raise self.fail(key, f"{name} 不是数字，不能用 {leaf.op} 比较")
            return
        fact = facts[leaf.name]
        allowed: tuple[str, ...] = ("yes", "no") if fact.type == "yes_no" else fact.choices
        for value in leaf.values:
            if fact.type == "number" and not isinstance(value, float):
                raise self.fail(key, f"{leaf.name} 是数字，{value!r} 不是数字")
            if fact.type != "number" and value not in allowed:
                raise self.fail(key, f"{leaf.name} 只能是 {', '.join(allowed)}，没有 {value!r}")

    def template(self, key: str, text: str, known: tuple[str, ...]) -> str:
        rendered = self.text(key, text)
        try:
            parts = list(string.Formatter().parse(rendered))
        except ValueError:
            raise self.fail(key, "变量格式不正确：请用 {变量名}，字面的花括号写成 {{ 或 }}") from None
        for _literal, name, spec, conversion in parts:
            if name is None:
                continue
            if spec or conversion or name not in known:
                raise self.fail(key, f"变量 {{{name}}} 不是这个分群提供的（可用：{', '.join(known)}）")
        return rendered

    def answers(self, raw: dict[str, _AnswerFrom], checklist: str | None, facts: dict[str, Fact]
                ) -> dict[str, AnswerFrom]:
        if raw and not checklist:
            raise self.fail("answers", "没有 checklist 时不能写 answers")
        if not checklist:
            return {}
        found = self.checklists.cases.get(checklist)
        if found is None:
            raise self.fail("checklist", f"{checklist} 不在 policy/checklists 里")
        answers = {}
        for question_id, source in raw.items():
            key = f"answers.{question_id}"
            question = found.question(question_id)
            if question is None:
                raise self.fail(key, f"{question_id} 不是清单 {checklist} 的问题")
            if (source.fact is None) == (source.value is None):
                raise self.fail(key, "须写 fact（数据项）或 value（固定值）之一")
            if source.fact is not None:
                fact = facts.get(source.fact)
                if fact is None:
                    raise self.fail(f"{key}.fact", f"{source.fact} 不是这类对象的数据项")
                if fact.type != question.type or not set(fact.choices) <= set(question.choice_ids()):
                    raise self.fail(f"{key}.fact", f"数据项 {source.fact} 的取值和问题 {question_id} 的答案不对应")
            else:
                self._check_value(key, question, source.value)
            answers[question_id] = AnswerFrom(source.fact, source.value)
        return answers

    def _check_value(self, key: str, question: Question, value: object) -> None:
        ok = {
            "yes_no": isinstance(value, bool),
            "choice": isinstance(value, str) and value in question.choice_ids(),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool)
            and question.min is not None and question.max is not None and question.min <= value <= question.max,
        }[question.type]
        if not ok:
            raise self.fail(f"{key}.value", f"{value!r} 不是问题 {question.id} 能接受的答案")


def parse_segment(text: str, name: str, params: dict, checklists: Checklists) -> Segment:
    """One file's text as a `Segment`; `name` is the file name, whose stem is the segment's key."""
    key = Path(name).stem
    if not _KEY.fullmatch(key):
        raise SegmentError(f"{name}: 文件名须由小写字母、数字和连字符组成")
    raw = parse_file(text, name, _File, SegmentError)
    reader = _Reader(name, params, checklists)
    facts = FACTS[raw.audience]
    when = reader.condition("when", raw.when, facts)
    business = params.get("business", {}).get(raw.business)
    if not isinstance(business, dict) or "name" not in business or "url" not in business:
        raise reader.fail("business", f"{raw.business} 不在 params/business.yml 里")
    _check_figures(reader, raw)
    known = (*_COMMON, *AUDIENCE_VARIABLES[raw.audience], *VARIABLES[raw.figures])
    messages = {}
    for channel, message in raw.messages.items():
        if channel not in CHANNELS:
            raise reader.fail(f"messages.{channel}", f"没有这个渠道（可用：{', '.join(CHANNELS)}）")
        messages[channel] = reader.template(f"messages.{channel}", message, known)
    estimate = None
    if raw.estimate is not None:
        combination = None
        if raw.estimate.combination is not None:
            c = raw.estimate.combination
            combination = Combination(
                c.target, c.commercial_rate,
                reader.template("estimate.combination.note", c.note, COMBINATION_VARIABLES),
                reader.template("estimate.combination.note_otherwise", c.note_otherwise, COMBINATION_VARIABLES),
            )
        estimate = Estimate(raw.estimate.house_price, raw.estimate.home, raw.estimate.existing_monthly_repayment,
                            combination)
    return Segment(
        key=key, title=reader.text("title", raw.title), audience=raw.audience, when=when,
        when_text=reader.text("when", raw.when), business=raw.business, business_name=str(business["name"]),
        business_url=str(business["url"]), checklist=raw.checklist,
        answers=reader.answers(raw.answers, raw.checklist, facts), figures=raw.figures,
        name_style=raw.name_style, messages=messages, event=raw.event, estimate=estimate, variables=known,
    )


def _check_figures(reader: _Reader, raw: _File) -> None:
    if raw.figures in ("loan", "max_loan", "rate_change") and raw.audience != "depositors":
        raise reader.fail("figures", f"{raw.figures} 只适用于 audience: depositors")
    if raw.figures == "max_loan" and raw.estimate is None:
        raise reader.fail("estimate", "figures: max_loan 须写 estimate（数据里没有的房价等假设）")
    if raw.figures != "max_loan" and raw.estimate is not None:
        raise reader.fail("estimate", "只有 figures: max_loan 才用 estimate")
    needs = {"rate_change": "rate_change", "article": "policy_article"}.get(raw.figures)
    if needs and raw.event != needs:
        raise reader.fail("event", f"figures: {raw.figures} 须有 event: {needs}")
    if raw.event == "rate_change" and raw.figures != "rate_change":
        raise reader.fail("figures", "event: rate_change 的分群须写 figures: rate_change")


def load_segments(directory: Path, params_dir: Path, checklists_dir: Path | None = None) -> dict[str, Segment]:
    """Every `*.yml` under `directory`, checked against the parameters and the checklists."""
    try:
        params = load_params(params_dir)
    except (OSError, yaml.YAMLError) as exc:
        raise SegmentError(f"{params_dir}: 参数文件无法读取: {exc}") from exc
    try:
        checklists = load_checklists(checklists_dir or params_dir.parent / "checklists", params_dir)
    except ChecklistError as exc:
        raise SegmentError(f"清单文件有误：{exc}") from exc
    segments = {}
    for path in sorted(directory.glob("*.yml")):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SegmentError(f"{path.name}: 无法读取: {exc}") from exc
        segment = parse_segment(text, path.name, params, checklists)
        segments[segment.key] = segment
    return segments


def main() -> int:
    from core.settings import get_settings

    settings = get_settings()
    try:
        found = load_segments(settings.segments_dir, settings.loan_params_path.parent, settings.checklists_dir)
    except SegmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for segment in found.values():
        print(f"{segment.key}: {segment.title}（{segment.audience} → {segment.business}）")
    print(f"{len(found)} segments OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
