"""The centre's data as this service sees it: one typed record per row of the business system's
exports or views (docs/outreach.md documents every column). Plain frozen dataclasses with slots:
segment evaluation streams a million of them, so they must be small and cheap to make.

Amounts are yuan, rates are annual percent, dates are `datetime.date`. Yes/no columns are bools.
A depositor arrives together with their loans (`Person`), so a rule can ask about both at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class DepositorStatus(StrEnum):
    NORMAL = "normal"  # 正常缴存
    SEALED = "sealed"  # 封存
    CLOSED = "closed"  # 销户


class LoanKind(StrEnum):
    HPF = "hpf"                  # 公积金贷款
    COMMERCIAL = "commercial"    # 商业银行住房贷款
    COMBINATION = "combination"  # 组合贷款


class AssistantKind(StrEnum):
    DEVELOPER = "developer"  # 开发商协办人员
    BANK = "bank"            # 银行协办人员


@dataclass(frozen=True, slots=True)
class Depositor:
    account_no: str            # 个人公积金账号: the centre's key; never stored by this service
    name: str
    mobile: str | None         # the mobile verified by the centre, E.164 (+86…)
    wechat_openid: str | None  # when the centre's records link one
    app_user_id: str | None
    employer_id: str
    birth_date: date
    status: DepositorStatus
    monthly_base: float        # 缴存基数
    monthly_deposit: float     # 月缴存额 (employer and employee together)
    balance: float             # 账户余额
    continuous_months: int     # 连续足额缴存月数
    opened_on: date


@dataclass(frozen=True, slots=True)
class Loan:
    loan_id: str
    account_no: str            # the borrower's account
    kind: LoanKind
    principal: float
    balance: float             # 贷款余额
    annual_rate: float         # percent; for a combination loan, the provident-fund part's rate
    remaining_months: int
    method: str                # equal_installment (等额本息) | equal_principal (等额本金)
    started_on: date
    repay_withdrawal: bool     # 已签约偿还贷款提取（或按月冲还贷）
    overdue: bool


@dataclass(frozen=True, slots=True)
class Employer:
    employer_id: str           # 单位账号
    name: str
    admin_name: str            # 单位专管员
    admin_mobile: str | None
    status: str                # normal | suspended | closed


@dataclass(frozen=True, slots=True)
class Assistant:
    """A developer's or bank's loan assistant (协办人员)."""

    assistant_id: str
    name: str
    mobile: str | None
    organisation: str
    kind: AssistantKind


@dataclass(frozen=True, slots=True)
class Contribution:
    account_no: str
    month: str                 # YYYY-MM
    amount: float
    paid: bool


@dataclass(frozen=True, slots=True)
class Person:
    """A depositor with their loans: what a segment rule about depositors reads."""

    depositor: Depositor
    loans: tuple[Loan, ...] = ()


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that was not read: where, which column, and why (never a guess at what was meant)."""

    file: str
    row: int                   # 1-based data row (the header is row 0), or the view's row number
    column: str
    code: str
    message: str               # Chinese, for the operator
