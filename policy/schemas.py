"""What the loan calculator and the eligibility checklists answer. The bot's actions
(bot/actions/service.py, bot/actions/checklist.py) read these shapes."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from policy.calculator import LimitName, Method
from policy.checklist_rules import QuestionType
from policy.eligibility import Outcome
from policy.loan_params import LoanParams, RateEntry

# -- the loan calculator ----------------------------------------------------------------------------


class ScheduleRow(BaseModel):
    month: int
    payment: float
    principal: float
    interest: float
    remaining: float


class RepaymentOut(BaseModel):
    monthly_payment: float = Field(description="the first month's payment (every month's, for equal instalments)")
    last_payment: float
    total_interest: float
    total_payment: float
    annual_rate_percent: float
    rate_effective: str | None = Field(description="the rate table's date; null when the caller gave the rate")
    months: int
    method: Method
    text: str = Field(description="the result in words, as the bot says it")
    schedule: list[ScheduleRow] | None = Field(None, description="only with `?schedule=true`")


class CapacityOut(BaseModel):
    monthly_income: float
    monthly_capacity: float
    months: int
    principal_at_rate: float
    principal_simple: float


class TermOut(BaseModel):
    requested_years: int | None
    max_term_years: int
    age_limit_years: int | None
    retirement_age: int | None
    note: str


class MaxAmountDetail(BaseModel):
    rate_effective: str
    explanations: dict[LimitName, str]
    capacity: CapacityOut
    term: TermOut


class MaxAmountOut(BaseModel):
    max_amount: float
    binding_limit: LimitName
    limits: dict[LimitName, float]
    years: int
    annual_rate_percent: float
    eligible: bool
    reasons: list[str]
    text: str
    detail: MaxAmountDetail = Field(description="how each figure was reached, for pages and agents")


class LoanParamsOut(LoanParams):
    current_rate: RateEntry = Field(description="the entry of `rates` in force today")


# -- eligibility checklists -------------------------------------------------------------------------


class ChecklistSummary(BaseModel):
    case: str
    title: str
    articles: list[str] = Field(description="the knowledge articles this check belongs to")


class ChecklistInfo(ChecklistSummary):
    questions: int = Field(description="how many questions it may ask")
    source: str


class ChecklistsOut(BaseModel):
    checklists: list[ChecklistInfo]


class MatchOut(BaseModel):
    cases: list[ChecklistSummary] = Field(description="best first: none, one, or several that tie")


class ForArticleOut(BaseModel):
    article_id: str
    checklist: ChecklistSummary | None


class Choice(BaseModel):
    id: str
    text: str


class QuestionOut(BaseModel):
    """Yes/no questions take true/false, choices their ids; number questions add their range and unit."""

    id: str
    text: str
    type: QuestionType
    choices: list[Choice]
    min: int | float | None = None
    max: int | float | None = None
    unit: str | None = None


class NextQuestion(ChecklistSummary):
    done: Literal[False]
    question: QuestionOut


class BusinessLink(BaseModel):
    title: str
    url: str


class NextOutcome(ChecklistSummary):
    done: Literal[True]
    outcome: Outcome
    reasons: list[str]
    documents: list[str]
    warnings: list[str]
    text: str
    business_link: BusinessLink | None = Field(description="null when a blocking reason applies")
    source: str
    answers: dict[str, Any] = Field(description="the answers that counted")


NextStep = NextQuestion | NextOutcome
