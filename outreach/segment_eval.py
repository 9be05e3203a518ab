"""Who a segment reaches, one person at a time: `evaluate` is a generator over the centre's data, so a
million depositors pass through without ever being held in a list, and the figures (the maximum loan,
a new monthly payment) are computed only for people the rule matched.

Each `Match` carries what the rest needs and nothing more: how to reach the person, a keyed reference
to their account (never the account number), the variables the texts use, the checklist answers the
data gives, and the facts the personal link's page shows (a masked name and the figures).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from outreach.identities import depositor_ref
from outreach.records import Assistant, Employer, Loan, LoanKind, Person
from outreach.segment_rules import Segment
from policy.calculator import Applicant, LoanInputError, installment, max_loan, money, monthly_rate, percent_text
from policy.loan_params import LoanParams, RateEntry

LOCAL = ZoneInfo("Asia/Shanghai")
ESTIMATE_NOTE = "估算，以审批为准"
LOAN_KIND_NAMES = {LoanKind.HPF: "公积金贷款", LoanKind.COMMERCIAL: "商业贷款", LoanKind.COMBINATION: "组合贷款"}
# A rate-change event concerns the loans whose provident-fund rate moves: HPF loans and the HPF part of
# combination loans (the records keep that part's rate); commercial loans follow the bank's LPR.
AFFECTED_KINDS = {"hpf": (LoanKind.HPF, LoanKind.COMBINATION), "commercial": (LoanKind.COMMERCIAL,)}
# Two-character surnames, so that 欧阳明 is 欧阳先生/女士 and not 欧先生/女士.
COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙",
    "慕容", "令狐", "司徒", "夏侯", "长孙", "宇文", "端木",
})


class EventError(ValueError):
    """An event segment asked without the event it needs, or with one it cannot use (Chinese message)."""


class _Report(Protocol):
    @property
    def count(self) -> int: ...


class PeopleSource(Protocol):
    """What evaluation reads (outreach.centre_data's sources are these)."""

    def people(self) -> Iterator[Person]: ...

    def employers(self) -> Iterator[Employer]: ...

    def assistants(self) -> Iterator[Assistant]: ...

    @property
    def report(self) -> _Report: ...


@dataclass(frozen=True)
class Match:
    name: str
    mobile: str | None
    wechat_openid: str | None
    app_user_id: str | None
    depositor_ref: str | None
    variables: dict[str, str] = field(default_factory=dict)
    answers: dict[str, object] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)


def mask_name(name: str) -> str:
    """张三明 → 张*明, 张三 → 张*: recognisable to its owner, not enough to find them."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return f"{name[0]}*"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"


def mask_mobile(mobile: str | None) -> str:
    """+8613812345678 → 138****5678."""
    if not mobile:
        return ""
    digits = mobile.removeprefix("+86")
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "*" * len(digits)


def polite_name(name: str) -> str:
    """张三明 → 张先生/女士: the centre's records carry no gender, so both."""
    surname = name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]
    return f"{surname}先生/女士" if surname else "您"


def wan(amount: float, places: int = 1) -> str:
    """Yuan as 万元, rounded down (a promise never exceeds what was computed): 456,789 → "45.6"."""
    scale = 10 ** places
    return f"{math.floor(amount / 10_000 * scale + 1e-9) / scale:.{places}f}"


def yuan(amount: float) -> str:
    return f"{money(amount):,.2f}"


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def monthly_payment(balance: float, rate: float, months: int, method: str) -> float:
    """This month's payment on a loan at `rate`: the annuity for 等额本息; principal share plus this
    month's interest for 等额本金 (its first month, as calculator.equal_principal computes it)."""
    if months <= 0:
        return 0.0
    if method == "equal_principal":
        return balance / months + balance * monthly_rate(rate)
    return installment(balance, rate, months)


# -- the facts a rule reads ---------------------------------------------------------------------------

def depositor_facts(person: Person, today: date) -> dict[str, object]:
    d = person.depositor
    return {
        "status": str(d.status), "age": age_on(d.birth_date, today), "balance": d.balance,
        "monthly_deposit": d.monthly_deposit, "monthly_base": d.monthly_base,
        "continuous_months": d.continuous_months, "has_mobile": d.mobile is not None,
        "has_wechat": d.wechat_openid is not None, "has_app": d.app_user_id is not None,
        "has_loan": bool(person.loans),
    }


def loan_facts(loan: Loan) -> dict[str, object]:
    return {
        "loan_kind": str(loan.kind), "repay_withdrawal": loan.repay_withdrawal, "overdue": loan.overdue,
        "loan_balance": loan.balance, "loan_rate": loan.annual_rate, "remaining_months": loan.remaining_months,
        "loan_method": loan.method,
    }


# -- evaluation ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _RateChange:
    old_rate: float
    new_rate: float
    kinds: tuple[LoanKind, ...]


def _rate_change(event: Mapping[str, object] | None) -> _RateChange:
    if not event:
        raise EventError("利率调整分群需要给出调整前后的利率（old_rate、new_rate）。")
    try:
        old, new = float(event["old_rate"]), float(event["new_rate"])  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        raise EventError("利率调整事件须有数字 old_rate 和 new_rate（年利率，%）。") from None
    kind = str(event.get("kind") or "hpf")
    if kind not in AFFECTED_KINDS:
        raise EventError(f"利率调整事件的 kind 只能是 {', '.join(AFFECTED_KINDS)}。")
    if not (0 < old <= 15 and 0 < new <= 15) or old == new:
        raise EventError("利率须在0%到15%之间，且调整前后不同。")
    return _RateChange(old, new, AFFECTED_KINDS[kind])


def _check_event(segment: Segment, event: Mapping[str, object] | None) -> None:
    if segment.event == "policy_article" and not (event and str(event.get("title") or "").strip()):
        raise EventError("政策文章分群需要给出文章标题（title）。")


def evaluate(
    segment: Segment, source: PeopleSource, *, params: LoanParams, rates: RateEntry, secret: str,
    event: Mapping[str, object] | None = None, asked: Mapping[str, float] | None = None, today: date | None = None,
) -> Iterator[Match]:
    """The people the segment reaches, streamed in the source's order. `asked` maps a depositor_ref (or
    an identity, `phone:+86…`, `wechat:<openid>`, `app:<user id>`) to the amount (yuan) the person asked
    about in a past conversation (outreach.segment_asked); `event` is the rate change
    {"old_rate", "new_rate", "kind"} or the policy article {"title", …} an event segment is about."""
    _check_event(segment, event)
    change = _rate_change(event) if segment.figures == "rate_change" else None
    day = today or datetime.now(LOCAL).date()
    if segment.audience == "employer_admins":
        yield from _employer_admins(segment, source, event)
    elif segment.audience == "assistants":
        yield from _assistants(segment, source, event)
    else:
        yield from _depositors(segment, source, params=params, rates=rates, secret=secret, event=event,
                               asked=asked or {}, today=day, change=change)


def _depositors(
    segment: Segment, source: PeopleSource, *, params: LoanParams, rates: RateEntry, secret: str,
    event: Mapping[str, object] | None, asked: Mapping[str, float], today: date, change: _RateChange | None,
) -> Iterator[Match]:
    when = segment.when.evaluate
    for person in source.people():
        facts = depositor_facts(person, today)
        chosen: Loan | None = None
        matched = False
        if person.loans:
            for loan in person.loans:
                if change and (loan.kind not in change.kinds or abs(loan.annual_rate - change.old_rate) > 1e-6):
                    continue
                with_loan = facts | loan_facts(loan)
                if when(with_loan) is True:
                    chosen, facts, matched = loan, with_loan, True
                    break
        elif change is None:
            matched = when(facts) is True
        if not matched:
            continue
        ref = depositor_ref(secret, person.depositor.account_no)
        figures = _figures(segment, person, chosen, facts, params=params, rates=rates, event=event,
                           asked=_asked(asked, ref, person) if asked else None, change=change)
        if figures is None:
            continue
        variables, shown = figures
        yield _match(segment, person.depositor.name, person.depositor.mobile, person.depositor.wechat_openid,
                     person.depositor.app_user_id, ref, variables, shown, facts)


def _asked(asked: Mapping[str, float], ref: str, person: Person) -> float | None:
    """What the person asked to borrow: by their reference, else by an identity they chatted with."""
    if ref in asked:
        return asked[ref]
    d = person.depositor
    for kind, value in (("app", d.app_user_id), ("wechat", d.wechat_openid), ("phone", d.mobile)):
        if value and f"{kind}:{value}" in asked:
            return asked[f"{kind}:{value}"]
    return None


def _match(segment: Segment, name: str, mobile: str | None, openid: str | None, app_user_id: str | None,
           ref: str | None, variables: dict[str, str], shown: dict[str, str], facts: Mapping[str, object]) -> Match:
    called = polite_name(name) if segment.name_style == "polite" else name
    answers: dict[str, object] = {}
    for question, source in segment.answers.items():
        if source.fact is None:
            answers[question] = source.value
        elif source.fact in facts:
            answers[question] = facts[source.fact]
    return Match(
        name=name, mobile=mobile, wechat_openid=openid, app_user_id=app_user_id, depositor_ref=ref,
        variables={"name": called, "business_name": segment.business_name, **variables},
        answers=answers, facts={"姓名": mask_name(name), **shown},
    )


def _figures(
    segment: Segment, person: Person, loan: Loan | None, facts: Mapping[str, object], *, params: LoanParams,
    rates: RateEntry, event: Mapping[str, object] | None, asked: float | None, change: _RateChange | None,
) -> tuple[dict[str, str], dict[str, str]] | None:
    """The person's variables and page facts, or None when their figures cannot be computed."""
    if segment.figures == "max_loan":
        return _max_loan(segment, person, facts, params=params, rates=rates, asked=asked)
    if segment.figures in ("loan", "rate_change"):
        if loan is None:
            return None
        variables = {"loan_kind_name": LOAN_KIND_NAMES[loan.kind], "loan_balance_wan": wan(loan.balance, 2),
                     "remaining_months": str(loan.remaining_months)}
        shown = {"贷款种类": LOAN_KIND_NAMES[loan.kind], "贷款余额": f"约{wan(loan.balance, 2)}万元",
                 "剩余期数": f"{loan.remaining_months}个月"}
        if change is not None:
            old = monthly_payment(loan.balance, change.old_rate, loan.remaining_months, loan.method)
            new = monthly_payment(loan.balance, change.new_rate, loan.remaining_months, loan.method)
            difference = f"{'减少' if new <= old else '增加'}{yuan(abs(old - new))}元"
            variables |= {"old_rate": percent_text(change.old_rate), "new_rate": percent_text(change.new_rate),
                          "old_payment": yuan(old), "new_payment": yuan(new), "payment_change": difference}
            shown |= {"原利率": percent_text(change.old_rate), "新利率": percent_text(change.new_rate),
                      "原月供": f"{yuan(old)}元", "新月供（估算）": f"{yuan(new)}元", "每月": difference}
        return variables, shown
    return _plain_figures(segment, event)


def _plain_figures(segment: Segment, event: Mapping[str, object] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Figures that need no person's data: a policy article's title, or none."""
    if segment.figures == "article":
        title = str((event or {}).get("title", "")).strip()[:60]
        return {"article_title": title}, {"政策": title}
    return {}, {}


def _max_loan(
    segment: Segment, person: Person, facts: Mapping[str, object], *, params: LoanParams, rates: RateEntry,
    asked: float | None,
) -> tuple[dict[str, str], dict[str, str]] | None:
    """policy.calculator's maximum for an applicant built from the data: wage = the deposit base (last
    year's average monthly wage), the balance, the monthly deposit, the continuous months and the age;
    what the data lacks (house price, home number, other repayments) is the segment's assumption.
    Gender is not in the data, so the calculator takes the earlier retirement age (never too long a term)."""
    estimate = segment.estimate
    assert estimate is not None  # the file was checked: figures max_loan has an estimate
    d = person.depositor
    try:
        result = max_loan(Applicant(
            monthly_wage=d.monthly_base, house_price=estimate.house_price, account_balance=d.balance,
            monthly_deposit_total=d.monthly_deposit, existing_monthly_repayment=estimate.existing_monthly_repayment,
            home=estimate.home, age=int(facts["age"]),  # type: ignore[call-overload]
            deposit_months=d.continuous_months,
        ), params, rates)
    except LoanInputError:
        return None  # data outside the calculator's ranges: no figure rather than a wrong one
    if not result.eligible or result.amount <= 0:
        return None
    months = result.term.years * 12
    payment = installment(result.amount, result.annual_rate_percent, months)
    variables = {"max_loan_wan": wan(result.amount), "term_years": str(result.term.years),
                 "loan_rate": percent_text(result.annual_rate_percent), "monthly_payment": yuan(payment)}
    shown = {"最高可贷": f"约{wan(result.amount)}万元（{ESTIMATE_NOTE}）", "贷款期限": f"{result.term.years}年",
             "年利率": percent_text(result.annual_rate_percent), "月供": f"约{yuan(payment)}元（等额本息）"}
    combination = estimate.combination
    if combination is not None:
        need = asked if asked and asked > 0 else combination.target
        values = {"need_wan": wan(need), "max_loan_wan": wan(result.amount), "term_years": str(result.term.years),
                  "commercial_rate": percent_text(combination.commercial_rate)}
        if result.amount < need:
            commercial = need - result.amount
            commercial_payment = installment(commercial, combination.commercial_rate, months)
            values |= {"commercial_wan": wan(commercial, 2), "hpf_payment": yuan(payment),
                       "commercial_payment": yuan(commercial_payment),
                       "total_payment": yuan(payment + commercial_payment)}
            variables["combination_note"] = combination.note.format(**values)
            shown |= {"组合贷款（估算）": f"公积金约{wan(result.amount)}万元＋商业贷款约{wan(commercial, 2)}万元",
                      "组合月供": f"约{yuan(payment + commercial_payment)}元"}
        else:
            variables["combination_note"] = combination.note_otherwise.format(**values)
    else:
        variables["combination_note"] = ""
    return variables, shown


def _employer_admins(segment: Segment, source: PeopleSource, event: Mapping[str, object] | None) -> Iterator[Match]:
    when = segment.when.evaluate
    for employer in source.employers():
        facts = {"employer_status": employer.status, "has_mobile": employer.admin_mobile is not None}
        if when(facts) is not True:
            continue
        variables, shown = _plain_figures(segment, event)
        yield _match(segment, employer.admin_name, employer.admin_mobile, None, None, None,
                     {"employer_name": employer.name, **variables}, {"单位": employer.name, **shown}, facts)


def _assistants(segment: Segment, source: PeopleSource, event: Mapping[str, object] | None) -> Iterator[Match]:
    when = segment.when.evaluate
    for assistant in source.assistants():
        facts = {"assistant_kind": str(assistant.kind), "has_mobile": assistant.mobile is not None}
        if when(facts) is not True:
            continue
        variables, shown = _plain_figures(segment, event)
        yield _match(segment, assistant.name, assistant.mobile, None, None, None,
                     {"organisation": assistant.organisation, **variables}, {"机构": assistant.organisation, **shown},
                     facts)


# -- preview ------------------------------------------------------------------------------------------

def preview(
    segment: Segment, source: PeopleSource, *, params: LoanParams, rates: RateEntry, secret: str,
    event: Mapping[str, object] | None = None, asked: Mapping[str, float] | None = None,
    today: date | None = None, samples: int = 5,
) -> dict[str, object]:
    """How many the segment reaches (and how many of them have a mobile), the first `samples` masked
    (name 张*明, mobile 138****5678, never an account number or a reference), and the bad rows the
    source skipped."""
    def called(match: Match) -> str:
        return polite_name(match.name) if segment.name_style == "polite" else mask_name(match.name)

    count = with_mobile = 0
    shown: list[dict[str, object]] = []
    for match in evaluate(segment, source, params=params, rates=rates, secret=secret, event=event, asked=asked,
                          today=today):
        count += 1
        with_mobile += match.mobile is not None
        if len(shown) < samples:
            shown.append({"name": mask_name(match.name), "mobile": mask_mobile(match.mobile),
                          "variables": match.variables | {"name": called(match)},
                          "facts": dict(match.facts)})
    return {"count": count, "with_mobile": with_mobile, "samples": shown, "bad_rows": int(source.report.count)}
