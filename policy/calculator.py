"""Loan arithmetic: repayments (等额本息 / 等额本金), the maximum loan, and their Chinese summaries.

Pure functions, no I/O: the centre's rules arrive as a `LoanParams`. Amounts are floats in yuan
throughout and are rounded to 0.01 yuan (half up) only when presented (`money`, `yuan_text`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from core.staff_marks import for_citizens
from policy.loan_params import Gender, Home, InputLimits, LoanParams, RateEntry

Method = Literal["equal_installment", "equal_principal"]
LimitName = Literal["capacity", "house_price", "balance", "cap"]
METHOD_NAMES: dict[str, str] = {"equal_installment": "等额本息", "equal_principal": "等额本金"}
HOME_NAMES: dict[str, str] = {"first": "首套房", "second": "第二套房"}
LIMIT_NAMES: dict[str, str] = {"capacity": "还款能力", "house_price": "房价", "balance": "账户余额", "cap": "最高限额"}
DISCLAIMER = "试算结果仅供参考，以公积金中心实际审批为准。"


class LoanInputError(ValueError):
    """An input outside its valid range; `code` is stable, `message` tells the citizen the range."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.field = code, message, field


class SelfCheckError(RuntimeError):
    """The formulas disagree with the published worked examples: results must not be served."""


# ---------------------------------------------------------------- presentation helpers

def _dec(value: float) -> Decimal:
    # repr() is the shortest text that round-trips, so 2.675 rounds half up to 2.68 as written.
    return Decimal(repr(float(value)))


def money(value: float) -> float:
    """Round to 0.01 yuan, half up; never returns -0.0."""
    return float(_dec(value).quantize(Decimal("0.01"), ROUND_HALF_UP)) + 0.0


def floor_yuan(value: float) -> float:
    """A maximum is rounded down to whole yuan (never promise more); 1e-6 absorbs float noise."""
    return float(math.floor(value + 1e-6)) if value > 0 else 0.0


def yuan_text(value: float, cents: bool | None = True) -> str:
    """"4,003.40 元"; "800,000 元" without cents; `cents=None` shows them only when not zero."""
    number = _dec(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if cents is False or (cents is None and number == number.to_integral_value()):
        number = number.quantize(Decimal("1"), ROUND_HALF_UP)
    return f"{number:,} 元"


def amount_text(value: float, cents: bool | None = None) -> str:
    """"约 80.00 万元（800,000 元）" from 10,000 yuan up; plain yuan below."""
    if value < 10_000:
        return yuan_text(value, cents)
    wan = (_dec(value) / 10_000).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"约 {wan:,} 万元（{yuan_text(value, cents)}）"


def percent_text(percent: float) -> str:
    return f"{_dec(percent).normalize():f}%"


def _ratio_text(ratio: float) -> str:
    return percent_text(float(_dec(ratio) * 100))


# ---------------------------------------------------------------- repayment

@dataclass(frozen=True)
class ScheduleRow:
    month: int
    payment: float
    principal: float
    interest: float
    remaining: float


@dataclass(frozen=True)
class Repayment:
    method: Method
    principal: float
    months: int
    annual_rate_percent: float
    first_payment: float
    last_payment: float
    total_interest: float
    total_payment: float
    schedule: tuple[ScheduleRow, ...] = ()


def monthly_rate(annual_rate_percent: float) -> float:
    return annual_rate_percent / 100 / 12


def installment(principal: float, annual_rate_percent: float, months: int) -> float:
    """等额本息 monthly payment: M = P·r·(1+r)^n / ((1+r)^n − 1); P/n when the rate is zero."""
    r = monthly_rate(annual_rate_percent)
    if r == 0:
        return principal / months
    growth = (1 + r) ** months
    return principal * r * growth / (growth - 1)


def principal_for_payment(payment: float, annual_rate_percent: float, months: int) -> float:
    """The principal a fixed monthly payment repays in `months` (the inverse of `installment`)."""
    if months <= 0 or payment <= 0:
        return 0.0
    r = monthly_rate(annual_rate_percent)
    if r == 0:
        return payment * months
    growth = (1 + r) ** months
    return payment * (growth - 1) / (r * growth)


def equal_installment(principal: float, months: int, annual_rate_percent: float) -> Repayment:
    r = monthly_rate(annual_rate_percent)
    payment = installment(principal, annual_rate_percent, months)
    rows, remaining = [], principal
    for month in range(1, months + 1):
        interest = remaining * r
        # The last month clears whatever float noise is left, so the loan ends at exactly zero.
        part = remaining if month == months else payment - interest
        remaining -= part
        rows.append(ScheduleRow(month, part + interest, part, interest, remaining))
    total_interest = sum(row.interest for row in rows)
    return Repayment(
        "equal_installment", principal, months, annual_rate_percent,
        rows[0].payment, rows[-1].payment, total_interest, principal + total_interest, tuple(rows),
    )


def equal_principal(principal: float, months: int, annual_rate_percent: float) -> Repayment:
    """等额本金: month k pays P/n + (P − (k−1)·P/n)·r; total interest works out to (n+1)·P·r/2."""
    r = monthly_rate(annual_rate_percent)
    part = principal / months
    rows = []
    for month in range(1, months + 1):
        owed = principal - (month - 1) * part
        interest = owed * r
        remaining = principal - month * part if month < months else 0.0
        rows.append(ScheduleRow(month, part + interest, part, interest, remaining))
    total_interest = sum(row.interest for row in rows)
    return Repayment(
        "equal_principal", principal, months, annual_rate_percent,
        rows[0].payment, rows[-1].payment, total_interest, principal + total_interest, tuple(rows),
    )


def repayment(principal: float, months: int, annual_rate_percent: float, method: Method) -> Repayment:
    if method == "equal_installment":
        return equal_installment(principal, months, annual_rate_percent)
    if method == "equal_principal":
        return equal_principal(principal, months, annual_rate_percent)
    raise LoanInputError("invalid_method", "还款方式只能是等额本息或等额本金。", "method")


def _check(ok: bool, code: str, message: str, field: str) -> None:
    if not ok:
        raise LoanInputError(code, message, field)


def _wan_limit(value: float) -> str:
    return f"{_dec(value / 10_000).normalize():f}万元（{yuan_text(value, cents=False).replace(' ', '')}）"


def check_years(years: int, max_term_years: int) -> None:
    _check(
        isinstance(years, int) and 1 <= years <= max_term_years,
        "invalid_years", f"贷款年限需在1到{max_term_years}年之间。", "years",
    )


def check_repayment_input(
    principal: float, years: int, annual_rate_percent: float | None, method: str, params: LoanParams
) -> None:
    limits = params.limits
    _check(
        0 < principal <= limits.max_principal,
        "invalid_principal", f"贷款金额需大于0元且不超过{_wan_limit(limits.max_principal)}。", "principal",
    )
    check_years(years, params.max_term_years)
    if annual_rate_percent is not None:
        _check(
            0 <= annual_rate_percent <= limits.max_rate_percent,
            "invalid_rate", f"年利率需在0%到{percent_text(limits.max_rate_percent)}之间。", "annual_rate_percent",
        )
    _check(method in METHOD_NAMES, "invalid_method", "还款方式只能是等额本息或等额本金。", "method")


def repayment_text(result: Repayment, rate_note: str) -> str:
    years = result.months // 12
    head = (
        f"贷款{amount_text(result.principal)}，期限{years}年（共{result.months}期），"
        f"{METHOD_NAMES[result.method]}，年利率{percent_text(result.annual_rate_percent)}（{rate_note}）："
    )
    if result.method == "equal_installment":
        body = f"每月还款 {yuan_text(result.first_payment)}"
    else:
        step = result.principal / result.months * monthly_rate(result.annual_rate_percent)
        body = (
            f"首月还款 {yuan_text(result.first_payment)}，之后每月约减少 {yuan_text(step)}，"
            f"末月还款 {yuan_text(result.last_payment)}"
        )
    totals = f"，利息合计{amount_text(result.total_interest)}，本息合计{amount_text(result.total_payment)}。"
    return head + body + totals + DISCLAIMER


# ---------------------------------------------------------------- self-check

# The worked examples of docs/policy.md: 1,000,000 yuan over 30 years, equal instalments.
WORKED_EXAMPLES: tuple[tuple[float, int, float, float], ...] = (
    (1_000_000, 360, 2.85, 4135.57),
    (1_000_000, 360, 2.6, 4003.40),
)


def self_check() -> None:
    """Raise SelfCheckError unless the formulas reproduce the published figures and identities."""
    problems = []
    for principal, months, rate, expected in WORKED_EXAMPLES:
        got = money(equal_installment(principal, months, rate).first_payment)
        if got != expected:
            problems.append(f"等额本息 {principal:.0f}/{months}期/{rate}%: 得到 {got}，应为 {expected}")
    for principal, months, rate in ((1_000_000, 360, 2.6), (300_000, 120, 3.075), (120_000, 12, 0.0)):
        plan = equal_principal(principal, months, rate)
        r = monthly_rate(rate)
        identity = (months + 1) * principal * r / 2
        if abs(plan.total_interest - identity) > 0.005:
            problems.append(f"等额本金利息 {plan.total_interest:.4f} ≠ (n+1)·P·r/2 = {identity:.4f}")
        if abs(plan.first_payment - (principal / months + principal * r)) > 1e-6:
            problems.append("等额本金首月还款不等于 P/n + P·r")
        if abs(sum(row.principal for row in plan.schedule) - principal) > 0.005:
            problems.append("等额本金各月本金之和不等于贷款本金")
        annuity = equal_installment(principal, months, rate)
        if abs(annuity.schedule[-1].remaining) > 0.005 or abs(annuity.last_payment - annuity.first_payment) > 0.005:
            problems.append(f"等额本息 {principal:.0f}/{months}期/{rate}% 未在末期还清")
    if problems:
        raise SelfCheckError("贷款计算自检失败: " + "; ".join(problems))


# ---------------------------------------------------------------- maximum loan

@dataclass(frozen=True)
class Applicant:
    monthly_wage: float
    house_price: float
    account_balance: float
    employer_monthly_deposit: float | None = None
    monthly_deposit_total: float | None = None
    existing_monthly_repayment: float = 0.0
    spouse_balance: float = 0.0
    married_both_deposit: bool = False
    children: int = 0
    home: Home = "first"
    age: int | None = None
    gender: Gender | None = None
    years: int | None = None
    deposit_months: int | None = None

    @property
    def employer_deposit(self) -> float:
        """Employer and employee pay the same rate, so half a known total is the employer's share."""
        if self.employer_monthly_deposit is not None:
            return self.employer_monthly_deposit
        if self.monthly_deposit_total is not None:
            return self.monthly_deposit_total / 2
        return 0.0


def check_applicant(a: Applicant, params: LoanParams) -> None:
    lim: InputLimits = params.limits
    wage_cap = yuan_text(lim.max_monthly_wage, cents=False).replace(" ", "")
    _check(
        0 < a.monthly_wage <= lim.max_monthly_wage,
        "invalid_monthly_wage", f"月工资需大于0元且不超过{wage_cap}。", "monthly_wage",
    )
    for field, value, name in (
        ("employer_monthly_deposit", a.employer_monthly_deposit, "单位月缴存额"),
        ("monthly_deposit_total", a.monthly_deposit_total, "月缴存总额"),
    ):
        if value is not None:
            _check(0 <= value <= a.monthly_wage, f"invalid_{field}", f"{name}需在0元到月工资之间。", field)
    _check(
        0 <= a.existing_monthly_repayment <= lim.max_monthly_wage,
        "invalid_existing_monthly_repayment", f"现有月还款额需在0元到{wage_cap}之间。", "existing_monthly_repayment",
    )
    _check(
        0 < a.house_price <= lim.max_house_price,
        "invalid_house_price", f"房价需大于0元且不超过{_wan_limit(lim.max_house_price)}。", "house_price",
    )
    balances = (("account_balance", a.account_balance, "本人"), ("spouse_balance", a.spouse_balance, "配偶"))
    for field, value, name in balances:
        _check(
            0 <= value <= lim.max_balance,
            f"invalid_{field}", f"{name}公积金账户余额需在0元到{_wan_limit(lim.max_balance)}之间。", field,
        )
    _check(
        isinstance(a.children, int) and 0 <= a.children <= lim.max_children,
        "invalid_children", f"子女数需在0到{lim.max_children}之间。", "children",
    )
    _check(a.home in HOME_NAMES, "invalid_home", "住房套数只能是首套房或第二套房。", "home")
    if a.age is not None:
        _check(
            isinstance(a.age, int) and lim.min_age <= a.age <= lim.max_age,
            "invalid_age", f"年龄需在{lim.min_age}到{lim.max_age}周岁之间。", "age",
        )
    if a.gender is not None:
        _check(a.gender in ("male", "female"), "invalid_gender", "性别只能是男或女。", "gender")
    if a.years is not None:
        check_years(a.years, params.max_term_years)
    if a.deposit_months is not None:
        most = lim.max_age * 12
        _check(
            isinstance(a.deposit_months, int) and 0 <= a.deposit_months <= most,
            "invalid_deposit_months", f"连续缴存月数需在0到{most}个月之间。", "deposit_months",
        )


@dataclass(frozen=True)
class Term:
    years: int
    requested: int | None
    max_term_years: int
    age_limit_years: int | None  # retirement age + years after − age, when the age is known
    retirement_age: int | None
    note: str


def loan_term(a: Applicant, params: LoanParams) -> Term:
    """min(requested or the longest term, years until retirement age + years allowed after it)."""
    base = a.years or params.max_term_years
    if a.age is None:
        return Term(base, a.years, params.max_term_years, None, None, "")
    ages = params.retirement_age
    if a.gender is None:
        # Unknown gender: the earlier retirement age, so the estimate never promises too long a term.
        retire = min(ages.male, ages.female)
        note = f"未提供性别，按较早的法定退休年龄{retire}岁估算。"
    else:
        retire = ages.male if a.gender == "male" else ages.female
        note = ""
    age_limit = retire + params.years_after_retirement - a.age
    years = max(0, min(base, age_limit))
    if 0 < years < base:
        note += (
            f"贷款到期时年龄不能超过{retire + params.years_after_retirement}岁"
            f"（退休年龄{retire}岁+{params.years_after_retirement}年），期限按{years}年计算。"
        )
    return Term(years, a.years, params.max_term_years, age_limit, retire, note)


@dataclass(frozen=True)
class Limit:
    name: LimitName
    amount: float  # whole yuan, rounded down
    explanation: str


@dataclass(frozen=True)
class Capacity:
    monthly_income: float  # wage + employer's deposit
    monthly_capacity: float  # what may go to repayments each month
    months: int
    principal_at_rate: float  # the limit used: what that payment repays at the loan's rate
    principal_simple: float  # the published shorthand: monthly capacity × months, no interest


@dataclass(frozen=True)
class MaxLoan:
    amount: float
    binding: LimitName
    limits: tuple[Limit, ...]
    capacity: Capacity
    term: Term
    annual_rate_percent: float
    rate_effective: str
    eligible: bool
    reasons: tuple[str, ...]
    text: str

    def limit(self, name: LimitName) -> float:
        return next(item.amount for item in self.limits if item.name == name)


def repayment_capacity(a: Applicant, params: LoanParams, months: int, annual_rate_percent: float) -> Capacity:
    """The capacity limit. Published rules write it as "monthly capacity × months", but capacity is
    a monthly *payment*: the loan it can carry is the principal whose equal instalment at the
    loan's own rate and term equals it. "× months" ignores interest and would allow a loan whose
    monthly payment exceeds the capacity, so it is reported for comparison and never binds."""
    income = a.monthly_wage + a.employer_deposit
    monthly = max(0.0, income * params.repayment_capacity_ratio - a.existing_monthly_repayment)
    return Capacity(
        income, monthly, months,
        floor_yuan(principal_for_payment(monthly, annual_rate_percent, months)),
        floor_yuan(monthly * months),
    )


def _limits(a: Applicant, params: LoanParams, cap_: Capacity, rate: float, years: int) -> tuple[Limit, ...]:
    ratio = params.repayment_capacity_ratio
    capacity = Limit(
        "capacity", cap_.principal_at_rate,
        f"（月工资 {yuan_text(a.monthly_wage)} + 单位月缴存 {yuan_text(a.employer_deposit)}）× {_ratio_text(ratio)}"
        f" − 现有月还款 {yuan_text(a.existing_monthly_repayment)} = 每月最多可还 {yuan_text(cap_.monthly_capacity)}，"
        f"按年利率{percent_text(rate)}、{years}年等额本息可负担本金{amount_text(cap_.principal_at_rate, False)}"
        f"（简化口径“月还款能力 × {cap_.months}个月”计为{amount_text(cap_.principal_simple, False)}，"
        "未计利息，仅供对照）",
    )
    down = params.down_payment.ratio(a.home)
    house = Limit(
        "house_price", floor_yuan(a.house_price * (1 - down)),
        f"房价{amount_text(a.house_price, False)} ×（1 − {HOME_NAMES[a.home]}首付比例 {_ratio_text(down)}）",
    )
    floor = params.balance_floor
    own = max(a.account_balance, floor)
    # The floor lifts the balance of each person who deposits; a spouse's balance counts when
    # given, but a non-depositing spouse is not lifted to the floor.
    spouse = max(a.spouse_balance, floor) if a.married_both_deposit else a.spouse_balance
    counted = f"本人余额 {yuan_text(own)}"
    if spouse or a.married_both_deposit:
        counted = f"（{counted} + 配偶余额 {yuan_text(spouse)}）"
    balance = Limit(
        "balance", floor_yuan((own + spouse) * params.balance_multiple),
        f"{counted} × {_dec(params.balance_multiple).normalize():f} 倍"
        f"（余额低于 {yuan_text(floor, False)}时按 {yuan_text(floor, False)}计）",
    )
    caps = params.caps
    base = caps.couple if a.married_both_deposit else caps.single
    bonus = caps.multi_child_bonus if a.children >= 2 else 0.0
    who = "夫妻双方缴存" if a.married_both_deposit else "单方缴存"
    extra = f" + 多子女家庭上浮{amount_text(bonus, False)}" if bonus else ""
    cap = Limit("cap", floor_yuan(base + bonus), f"{who}最高{amount_text(base, False)}{extra}")
    return capacity, house, balance, cap


def max_loan(a: Applicant, params: LoanParams, rates: RateEntry) -> MaxLoan:
    """The lowest of repayment capacity, house price less down payment, balance × multiple and
    the cap, with the reasons it is refused (too few deposit months, too old, no capacity)."""
    check_applicant(a, params)
    term = loan_term(a, params)
    rate = rates.percent(a.home, max(term.years, 1))
    capacity = repayment_capacity(a, params, term.years * 12, rate)
    limits = _limits(a, params, capacity, rate, term.years)
    binding = min(limits, key=lambda item: item.amount)

    reasons = []
    if a.deposit_months is not None and a.deposit_months < params.min_deposit_months:
        reasons.append(
            f"申请公积金贷款前须连续足额缴存满{params.min_deposit_months}个月，目前为{a.deposit_months}个月。"
        )
    if term.years < 1:
        reasons.append(
            f"按年龄计算，贷款到期时将超过{term.retirement_age}岁退休后{params.years_after_retirement}年的期限，"
            "无法安排贷款期限。"
        )
    elif capacity.monthly_capacity <= 0:
        reasons.append("现有月还款额已达到或超过可用于还款的收入比例，暂无还款能力。")
    eligible = not reasons
    amount = binding.amount if eligible else 0.0
    text = _max_loan_text(a, term, rate, binding, limits, eligible, reasons) + _sources_text(params, rates)
    return MaxLoan(
        amount, binding.name, limits, capacity, term, rate, rates.effective.isoformat(), eligible, tuple(reasons), text
    )


# What each limit means, in the words a citizen uses: shown beside its figure.
LIMIT_MEANINGS: dict[str, tuple[str, str]] = {
    "capacity": ("还款能力", "按收入算，每月还得起的贷款"),
    "house_price": ("房价减首付", "房价减去最低首付后还差的钱"),
    "balance": ("余额倍数", "公积金账户余额的若干倍"),
    "cap": ("最高限额", "中心规定的贷款上限"),
}


def _max_loan_text(
    a: Applicant, term: Term, rate: float, binding: Limit, limits: tuple[Limit, ...], eligible: bool, reasons: list[str]
) -> str:
    """The short result first (amount, term, monthly payment), then one line per limit with what it
    means and which one binds; `_sources_text` adds where the parameters come from."""
    lines = []
    if eligible:
        monthly = installment(binding.amount, rate, term.years * 12)
        lines.append(
            f"按您提供的情况估算，{HOME_NAMES[a.home]}最高可贷{amount_text(binding.amount, False)}，"
            f"期限{term.years}年，年利率{percent_text(rate)}，等额本息月供约 {yuan_text(monthly)}。"
        )
    else:
        lines.append("按您提供的情况，目前还不能申请公积金贷款：" + "".join(reasons))
        if binding.amount > 0 and term.years >= 1:
            lines.append(f"条件满足后，按现在的情况估算最高可贷{amount_text(binding.amount, False)}。")
    if term.note:
        lines.append(term.note)
    lines.append("可贷额度取下面四项中最低的一项：")
    for item in limits:
        name, meaning = LIMIT_MEANINGS[item.name]
        mark = "【起决定作用】" if item is binding else ""
        lines.append(f"· {name}{mark}：{amount_text(item.amount, False)}，{meaning}。算法：{item.explanation}。")
    lines.append(f"起决定作用的是{LIMIT_NAMES[binding.name]}这一项。")
    return "\n".join(lines)


def _sources_text(params: LoanParams, rates: RateEntry) -> str:
    """Where the figures come from, dated by when the policy took effect; staff marks never shown."""
    rate_source = for_citizens(rates.source)
    caps_source = for_citizens(params.caps.source) if params.caps.source else "中心公布的贷款参数"
    return (
        f"\n参数依据：利率为{rates.effective.isoformat()}起执行的公积金贷款利率（{rate_source}）；"
        f"首付比例、余额倍数和最高额度：{caps_source}，以中心公布为准。\n{DISCLAIMER}"
    )
