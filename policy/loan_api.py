"""Loan calculator HTTP API: monthly repayments, the maximum loan, and the current parameters.

The Rasa actions (bot/actions/service.py) depend on these request and response shapes.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from core.errors import INVALID_REQUEST, ApiError, error_responses
from policy import calculator
from policy.calculator import HOME_NAMES, Applicant, LoanInputError, MaxLoan, Method, Repayment, money
from policy.deps import LoanParamsDep
from policy.loan_params import Gender, Home, LoanParams, LoanParamsError, RateEntry
from policy.schemas import LoanParamsOut, MaxAmountOut, RepaymentOut

# Refuse to start rather than serve figures that disagree with the published worked examples.
calculator.self_check()

router = APIRouter(prefix="/api/v1/loan", tags=["loan"])
NO_PARAMS = {503: ("loan_params_unavailable",)}
# Input the calculator refuses (422, with the `field` at fault beside the code).
REPAYMENT_INPUT = {422: ("invalid_principal", "invalid_years", "invalid_rate", "invalid_method")}
APPLICANT_INPUT = {422: (
    "invalid_monthly_wage", "invalid_employer_monthly_deposit", "invalid_monthly_deposit_total",
    "invalid_existing_monthly_repayment", "invalid_house_price", "invalid_account_balance", "invalid_spouse_balance",
    "invalid_children", "invalid_home", "invalid_age", "invalid_gender", "invalid_years", "invalid_deposit_months",
)}


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RepaymentRequest(_Request):
    principal: float
    years: int
    method: Method = "equal_installment"
    home: Home = "first"
    annual_rate_percent: float | None = None


class MaxAmountRequest(_Request):
    monthly_wage: float
    employer_monthly_deposit: float | None = None
    monthly_deposit_total: float | None = None
    existing_monthly_repayment: float = 0
    house_price: float
    account_balance: float
    spouse_balance: float = 0
    married_both_deposit: bool = False
    children: int = 0
    home: Home = "first"
    age: int | None = None
    gender: Gender | None = None
    years: int | None = None
    deposit_months: int | None = None


def _rates_today(params: LoanParams) -> RateEntry:
    try:
        return params.rate_entry(date.today())
    except LoanParamsError as exc:
        raise ApiError(503, "loan_params_unavailable", "贷款利率参数暂时不可用，无法计算，请稍后再试。") from exc


def _refuse(exc: LoanInputError) -> ApiError:
    return ApiError(422, exc.code, exc.message, field=exc.field)


def _repayment_body(result: Repayment, rate_effective: str | None, text: str, schedule: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "monthly_payment": money(result.first_payment),
        "last_payment": money(result.last_payment),
        "total_interest": money(result.total_interest),
        "total_payment": money(result.total_payment),
        "annual_rate_percent": result.annual_rate_percent,
        "rate_effective": rate_effective,
        "months": result.months,
        "method": result.method,
        "text": text,
    }
    if schedule:
        body["schedule"] = [
            {
                "month": row.month,
                "payment": money(row.payment),
                "principal": money(row.principal),
                "interest": money(row.interest),
                "remaining": money(row.remaining),
            }
            for row in result.schedule
        ]
    return body


# Without `?schedule=true` the answer has no `schedule` key at all.
@router.post("/repayment", response_model=RepaymentOut, response_model_exclude_unset=True,
             responses=error_responses(INVALID_REQUEST, REPAYMENT_INPUT, NO_PARAMS))
def repayment(
    request: RepaymentRequest, params: LoanParamsDep, schedule: Annotated[bool, Query()] = False
) -> dict[str, Any]:
    """Monthly repayment; the rate defaults to the centre's current rate for the home and term.
    `rate_effective` is null when the caller supplied its own rate."""
    result, effective, note = compute_repayment(request, params)
    return _repayment_body(result, effective, calculator.repayment_text(result, note), schedule)


def compute_repayment(request: RepaymentRequest, params: LoanParams) -> tuple[Repayment, str | None, str]:
    """The repayment plan, the date its rate took effect (None for a rate the caller chose) and the rate's
    note; 422 for input the calculator refuses. Shared by the API and the schedule page."""
    try:
        calculator.check_repayment_input(
            request.principal, request.years, request.annual_rate_percent, request.method, params
        )
    except LoanInputError as exc:
        raise _refuse(exc) from exc
    if request.annual_rate_percent is None:
        entry = _rates_today(params)
        rate = entry.percent(request.home, request.years)
        effective: str | None = entry.effective.isoformat()
        span = "5年以下（含5年）" if request.years <= 5 else "5年以上"
        note = f"{effective}起执行的{HOME_NAMES[request.home]}公积金贷款利率，{span}"
    else:
        rate, effective, note = request.annual_rate_percent, None, "您指定的利率"
    return calculator.repayment(request.principal, request.years * 12, rate, request.method), effective, note


def _max_amount_body(result: MaxLoan) -> dict[str, Any]:
    term = result.term
    capacity = result.capacity
    return {
        "max_amount": result.amount,
        "binding_limit": result.binding,
        "limits": {item.name: item.amount for item in result.limits},
        "years": term.years,
        "annual_rate_percent": result.annual_rate_percent,
        "eligible": result.eligible,
        "reasons": list(result.reasons),
        "text": result.text,
        # Beyond the bot's contract: how each figure was reached, for pages and agents.
        "detail": {
            "rate_effective": result.rate_effective,
            "explanations": {item.name: item.explanation for item in result.limits},
            "capacity": {
                "monthly_income": money(capacity.monthly_income),
                "monthly_capacity": money(capacity.monthly_capacity),
                "months": capacity.months,
                "principal_at_rate": capacity.principal_at_rate,
                "principal_simple": capacity.principal_simple,
            },
            "term": {
                "requested_years": term.requested,
                "max_term_years": term.max_term_years,
                "age_limit_years": term.age_limit_years,
                "retirement_age": term.retirement_age,
                "note": term.note,
            },
        },
    }


@router.post("/max-amount", response_model=MaxAmountOut,
             responses=error_responses(INVALID_REQUEST, APPLICANT_INPUT, NO_PARAMS))
def max_amount(request: MaxAmountRequest, params: LoanParamsDep) -> dict[str, Any]:
    applicant = Applicant(**request.model_dump())
    try:
        result = calculator.max_loan(applicant, params, _rates_today(params))
    except LoanInputError as exc:
        raise _refuse(exc) from exc
    return _max_amount_body(result)


@router.get("/params", response_model=LoanParamsOut, responses=error_responses(NO_PARAMS))
def loan_params(params: LoanParamsDep) -> dict[str, Any]:
    """The centre's current loan parameters, with `current_rate` being the entry in force today."""
    body: dict[str, Any] = params.model_dump(mode="json")
    body["current_rate"] = _rates_today(params).model_dump(mode="json")
    return body

