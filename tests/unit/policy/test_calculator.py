"""Loan arithmetic: published worked examples, formula identities, the four limits, input checks."""
import math
from datetime import date

import pytest
import yaml

from policy import calculator
from policy.calculator import (
    Applicant,
    LoanInputError,
    SelfCheckError,
    amount_text,
    equal_installment,
    equal_principal,
    installment,
    max_loan,
    money,
    principal_for_payment,
    yuan_text,
)
from policy.loan_params import LoanParams, LoanParamsError, load_params, parse_params
from tests.conftest import ROOT

# Pinned here so the tests do not move when the centre edits the shipped file.
PARAMS = {
    "rates": [
        {"effective": date(2025, 5, 8), "source": "PBoC 2025", "first_home": {"upto_5y": 2.1, "over_5y": 2.6},
         "second_home": {"upto_5y": 2.525, "over_5y": 3.075}},
        {"effective": date(2024, 5, 18), "source": "PBoC 2024", "first_home": {"upto_5y": 2.35, "over_5y": 2.85},
         "second_home": {"upto_5y": 2.775, "over_5y": 3.325}},
    ],
    "caps": {"single": 800_000, "couple": 1_000_000, "multi_child_bonus": 100_000},
    "balance_multiple": 15,
    "balance_floor": 20_000,
    "repayment_capacity_ratio": 0.4,
    "down_payment": {"first_home": 0.2, "second_home": 0.3},
    "min_deposit_months": 6,
    "max_term_years": 30,
    "retirement_age": {"male": 60, "female": 55},
    "years_after_retirement": 5,
    "limits": {"max_principal": 5_000_000, "max_monthly_wage": 200_000, "max_house_price": 50_000_000,
               "max_balance": 5_000_000, "max_rate_percent": 15, "min_age": 18, "max_age": 70, "max_children": 10},
}
TODAY = date(2026, 1, 1)


@pytest.fixture(scope="module")
def params() -> LoanParams:
    return LoanParams.model_validate(PARAMS)


def solve(params: LoanParams, **fields) -> calculator.MaxLoan:
    return max_loan(Applicant(**fields), params, params.rate_entry(TODAY))


# ---------------------------------------------------------------- repayment formulas

@pytest.mark.parametrize("rate, expected", [(2.85, 4135.57), (2.6, 4003.40)])
def test_published_worked_examples(rate, expected):
    plan = equal_installment(1_000_000, 360, rate)
    assert money(plan.first_payment) == expected
    assert money(plan.last_payment) == expected


def test_equal_installment_schedule_pays_off_exactly():
    plan = equal_installment(1_000_000, 360, 2.6)
    payment = installment(1_000_000, 2.6, 360)
    assert all(abs(row.payment - payment) < 1e-6 for row in plan.schedule)
    assert plan.schedule[-1].remaining == pytest.approx(0, abs=1e-6)
    assert sum(row.principal for row in plan.schedule) == pytest.approx(1_000_000, abs=1e-6)
    assert plan.total_interest == pytest.approx(payment * 360 - 1_000_000, abs=1e-4)
    assert money(plan.total_interest) == 441_222.96
    # Interest falls and principal grows month by month.
    assert plan.schedule[0].interest == pytest.approx(1_000_000 * 0.026 / 12)
    assert plan.schedule[1].principal > plan.schedule[0].principal


def test_equal_principal_identities():
    principal, months, rate = 1_000_000, 360, 2.6
    r = 0.026 / 12
    plan = equal_principal(principal, months, rate)
    assert plan.total_interest == pytest.approx((months + 1) * principal * r / 2, abs=1e-6)
    assert money(plan.total_interest) == 391_083.33
    assert plan.first_payment == pytest.approx(principal / months + principal * r)
    assert plan.last_payment == pytest.approx(principal / months * (1 + r))
    steps = {round(a.payment - b.payment, 9) for a, b in zip(plan.schedule, plan.schedule[1:], strict=False)}
    assert steps == {round(principal / months * r, 9)}
    assert plan.schedule[-1].remaining == 0
    assert plan.total_payment == pytest.approx(principal + plan.total_interest)


def test_equal_principal_costs_less_interest_than_equal_installment():
    assert equal_principal(500_000, 240, 3.075).total_interest < equal_installment(500_000, 240, 3.075).total_interest


@pytest.mark.parametrize("method", ["equal_installment", "equal_principal"])
def test_zero_rate_repays_principal_evenly(method):
    plan = calculator.repayment(120_000, 120, 0.0, method)
    assert plan.first_payment == pytest.approx(1_000)
    assert plan.last_payment == pytest.approx(1_000)
    assert plan.total_interest == 0
    assert plan.total_payment == pytest.approx(120_000)


def test_principal_for_payment_inverts_installment():
    assert principal_for_payment(4003.3968, 2.6, 360) == pytest.approx(1_000_000, abs=1)
    assert principal_for_payment(1_000, 0.0, 12) == 12_000
    assert principal_for_payment(0, 2.6, 360) == 0


def test_self_check_passes_and_catches_a_wrong_formula(monkeypatch):
    calculator.self_check()
    monkeypatch.setattr(calculator, "installment", lambda p, rate, n: p * (1 + rate / 100) / n)
    with pytest.raises(SelfCheckError, match="4135.57"):
        calculator.self_check()


def test_money_rounds_half_up_at_presentation_only():
    assert money(2.675) == 2.68
    assert money(-1e-12) == 0.0 and str(money(-1e-12)) == "0.0"
    assert yuan_text(4003.396) == "4,003.40 元"
    assert amount_text(800_000) == "约 80.00 万元（800,000 元）"
    assert amount_text(441_222.956) == "约 44.12 万元（441,222.96 元）"
    assert amount_text(9_999) == "9,999 元"


def test_repayment_text_says_the_numbers():
    plan = equal_principal(1_000_000, 360, 2.6)
    text = calculator.repayment_text(plan, "测试利率")
    assert "首月还款 4,944.44 元" in text and "末月还款 2,783.80 元" in text
    assert "约 100.00 万元（1,000,000 元）" in text and "等额本金" in text


# ---------------------------------------------------------------- maximum loan

def test_capacity_binds_and_converts_payment_to_principal(params):
    result = solve(params, monthly_wage=5_000, employer_monthly_deposit=500, house_price=1_000_000,
                   account_balance=50_000)
    assert result.binding == "capacity" and result.eligible
    assert result.capacity.monthly_capacity == pytest.approx(2_200)
    # 4,003.40 a month carries 1,000,000 yuan at 2.6% over 30 years (docs/policy.md), so 2,200 carries ≈ 549,533.
    assert result.amount == pytest.approx(2_200 / 4003.40 * 1_000_000, abs=2)
    assert installment(result.amount, 2.6, 360) <= 2_200 < installment(result.amount + 1, 2.6, 360)
    # The shorthand reading (capacity × months, no interest) is reported but does not bind.
    assert result.capacity.principal_simple == 2_200 * 360
    assert result.limit("house_price") == 800_000 and result.limit("balance") == 750_000
    assert result.limit("cap") == 800_000
    assert "起决定作用的是还款能力" in result.text and "792,000" in result.text
    assert "· 余额倍数：约 75.00 万元（750,000 元），公积金账户余额的若干倍" in result.text, result.text


def test_existing_repayments_and_deposit_total_enter_capacity(params):
    result = solve(params, monthly_wage=10_000, monthly_deposit_total=2_000, existing_monthly_repayment=1_400,
                   house_price=3_000_000, account_balance=100_000)
    # (10,000 + 2,000 / 2) × 40% − 1,400 = 3,000 a month.
    assert result.capacity.monthly_capacity == pytest.approx(3_000)
    assert result.limit("capacity") == math.floor(principal_for_payment(3_000, 2.6, 360))


@pytest.mark.parametrize("home, expected", [("first", 400_000), ("second", 350_000)])
def test_house_price_binds_with_the_down_payment_for_the_home(params, home, expected):
    result = solve(params, monthly_wage=20_000, employer_monthly_deposit=2_000, house_price=500_000,
                   account_balance=50_000, home=home)
    assert result.binding == "house_price"
    assert result.amount == expected
    assert result.annual_rate_percent == (2.6 if home == "first" else 3.075)


def test_balance_binds_and_a_low_balance_counts_as_the_floor(params):
    result = solve(params, monthly_wage=20_000, employer_monthly_deposit=2_000, house_price=2_000_000,
                   account_balance=8_000)
    assert result.binding == "balance"
    assert result.amount == 20_000 * 15


def test_couple_balances_each_raised_to_the_floor(params):
    result = solve(params, monthly_wage=20_000, employer_monthly_deposit=2_000, house_price=2_000_000,
                   account_balance=30_000, spouse_balance=5_000, married_both_deposit=True)
    assert result.binding == "balance"
    assert result.amount == (30_000 + 20_000) * 15


def test_spouse_without_balance_is_not_counted_when_only_one_deposits(params):
    result = solve(params, monthly_wage=20_000, employer_monthly_deposit=2_000, house_price=2_000_000,
                   account_balance=30_000)
    assert result.limit("balance") == 30_000 * 15


@pytest.mark.parametrize(
    "married, children, expected",
    [(False, 0, 800_000), (True, 1, 1_000_000), (True, 2, 1_100_000), (False, 3, 900_000)],
)
def test_cap_binds_single_couple_and_multi_child(params, married, children, expected):
    result = solve(params, monthly_wage=40_000, employer_monthly_deposit=4_000, house_price=5_000_000,
                   account_balance=100_000, spouse_balance=100_000 if married else 0,
                   married_both_deposit=married, children=children)
    assert result.binding == "cap"
    assert result.amount == expected


@pytest.mark.parametrize(
    "age, gender, years, expected_years",
    [(50, "male", None, 15), (45, "female", 30, 15), (50, None, None, 10), (30, "male", 20, 20), (62, "male", None, 3)],
)
def test_term_is_capped_by_retirement_age(params, age, gender, years, expected_years):
    result = solve(params, monthly_wage=8_000, employer_monthly_deposit=800, house_price=1_000_000,
                   account_balance=50_000, age=age, gender=gender, years=years)
    assert result.term.years == expected_years
    assert result.capacity.months == expected_years * 12
    assert result.annual_rate_percent == (2.1 if expected_years <= 5 else 2.6)
    if expected_years < (years or 30):
        assert f"期限按{expected_years}年计算" in result.text


def test_too_old_for_any_term_is_refused(params):
    result = solve(params, monthly_wage=8_000, house_price=1_000_000, account_balance=50_000, age=66, gender="male")
    assert not result.eligible and result.amount == 0 and result.term.years == 0
    assert "退休" in result.reasons[0]


def test_too_few_deposit_months_is_refused_with_the_reason(params):
    fields = dict(monthly_wage=8_000, employer_monthly_deposit=800, house_price=1_000_000, account_balance=50_000)
    refused = solve(params, deposit_months=3, **fields)
    assert not refused.eligible and refused.amount == 0
    assert refused.reasons == ("申请公积金贷款前须连续足额缴存满6个月，目前为3个月。",)
    assert "目前还不能申请" in refused.text
    accepted = solve(params, deposit_months=6, **fields)
    assert accepted.eligible and accepted.amount == refused.limit(refused.binding) > 0


def test_no_repayment_capacity_is_refused(params):
    result = solve(params, monthly_wage=5_000, existing_monthly_repayment=2_500, house_price=1_000_000,
                   account_balance=50_000)
    assert not result.eligible and result.limit("capacity") == 0
    assert "还款能力" in result.reasons[0]


# ---------------------------------------------------------------- input checks

@pytest.mark.parametrize(
    "principal, years, rate, method, code, message",
    [
        (0, 20, None, "equal_installment", "invalid_principal", "贷款金额需大于0元且不超过500万元（5,000,000元）。"),
        (-5, 20, None, "equal_installment", "invalid_principal", "贷款金额需大于0元且不超过500万元（5,000,000元）。"),
        (6_000_000, 20, None, "equal_installment", "invalid_principal", "贷款金额需大于0元且不超过500万元（5,000,000元）。"),
        (500_000, 0, None, "equal_installment", "invalid_years", "贷款年限需在1到30年之间。"),
        (500_000, 99, None, "equal_installment", "invalid_years", "贷款年限需在1到30年之间。"),
        (500_000, 20, 50, "equal_installment", "invalid_rate", "年利率需在0%到15%之间。"),
        (500_000, 20, -1, "equal_installment", "invalid_rate", "年利率需在0%到15%之间。"),
        (500_000, 20, None, "balloon", "invalid_method", "还款方式只能是等额本息或等额本金。"),
    ],
)
def test_repayment_inputs_out_of_range(params, principal, years, rate, method, code, message):
    with pytest.raises(LoanInputError) as caught:
        calculator.check_repayment_input(principal, years, rate, method, params)
    assert (caught.value.code, caught.value.message) == (code, message)


BASE = dict(monthly_wage=8_000, house_price=1_000_000, account_balance=50_000)


@pytest.mark.parametrize(
    "change, code, message",
    [
        ({"monthly_wage": 0}, "invalid_monthly_wage", "月工资需大于0元且不超过200,000元。"),
        ({"monthly_wage": 300_000}, "invalid_monthly_wage", "月工资需大于0元且不超过200,000元。"),
        ({"monthly_wage": float("nan")}, "invalid_monthly_wage", "月工资需大于0元且不超过200,000元。"),
        ({"employer_monthly_deposit": 9_000}, "invalid_employer_monthly_deposit", "单位月缴存额需在0元到月工资之间。"),
        ({"monthly_deposit_total": -1}, "invalid_monthly_deposit_total", "月缴存总额需在0元到月工资之间。"),
        ({"existing_monthly_repayment": -100}, "invalid_existing_monthly_repayment", "现有月还款额需在0元到200,000元之间。"),
        ({"house_price": 0}, "invalid_house_price", "房价需大于0元且不超过5000万元（50,000,000元）。"),
        ({"account_balance": -1}, "invalid_account_balance", "本人公积金账户余额需在0元到500万元（5,000,000元）之间。"),
        ({"spouse_balance": 9e9}, "invalid_spouse_balance", "配偶公积金账户余额需在0元到500万元（5,000,000元）之间。"),
        ({"children": 11}, "invalid_children", "子女数需在0到10之间。"),
        ({"age": 17}, "invalid_age", "年龄需在18到70周岁之间。"),
        ({"age": 99}, "invalid_age", "年龄需在18到70周岁之间。"),
        ({"years": 99}, "invalid_years", "贷款年限需在1到30年之间。"),
        ({"deposit_months": -1}, "invalid_deposit_months", "连续缴存月数需在0到840个月之间。"),
        ({"home": "third"}, "invalid_home", "住房套数只能是首套房或第二套房。"),
    ],
)
def test_applicant_inputs_out_of_range(params, change, code, message):
    with pytest.raises(LoanInputError) as caught:
        solve(params, **{**BASE, **change})
    assert (caught.value.code, caught.value.message) == (code, message)
    assert caught.value.field == next(iter(change))


# ---------------------------------------------------------------- parameters

def test_shipped_parameter_file_loads():
    shipped = load_params(ROOT / "policy" / "params" / "loan.yml")
    assert shipped.rates[0].effective >= shipped.rates[-1].effective
    assert shipped.caps.couple >= shipped.caps.single


def test_rate_chosen_by_date_home_and_term(params):
    assert params.rate_entry(date(2025, 5, 8)).percent("first", 30) == 2.6
    assert params.rate_entry(date(2025, 5, 7)).percent("first", 30) == 2.85
    assert params.rate_entry(TODAY).percent("first", 5) == 2.1
    assert params.rate_entry(TODAY).percent("second", 6) == 3.075
    with pytest.raises(LoanParamsError, match="rates"):
        params.rate_entry(date(2020, 1, 1))


@pytest.mark.parametrize(
    "change, names",
    [
        ({"caps": {"single": "abc", "couple": 1, "multi_child_bonus": 0}}, "caps.single"),
        ({"caps": {"single": 800_000, "couple": 1_000_000}}, "caps.multi_child_bonus"),
        ({"repayment_capacity_ratio": 1.5}, "repayment_capacity_ratio"),
        ({"rates": []}, "rates"),
        ({"rates": list(reversed(PARAMS["rates"]))}, "从新到旧"),
        ({"down_payment": {"first_home": 0.2, "second_home": 0.3, "third_home": 0.5}}, "down_payment.third_home"),
    ],
)
def test_broken_parameters_name_the_key(change, names):
    with pytest.raises(LoanParamsError, match=names.replace(".", r"\.")):
        parse_params(yaml.safe_dump({**PARAMS, **change}, allow_unicode=True), "test.yml")


def test_unparseable_yaml_is_refused():
    with pytest.raises(LoanParamsError, match="YAML"):
        parse_params("caps: [unclosed", "bad.yml")
