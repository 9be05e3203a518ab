"""The centre's data made by hand for the segment tests: a source over lists, read the way a real one
streams, and depositors, loans and people with sensible defaults."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date

from outreach.records import Assistant, Depositor, DepositorStatus, Employer, Loan, LoanKind, Person


@dataclass
class Report:
    count: int = 0


@dataclass
class ListSource:
    """The centre's data as lists, read the way a real source streams it."""

    persons: list[Person] = field(default_factory=list)
    employer_rows: list[Employer] = field(default_factory=list)
    assistant_rows: list[Assistant] = field(default_factory=list)
    report: Report = field(default_factory=Report)

    def people(self) -> Iterator[Person]:
        yield from self.persons

    def employers(self) -> Iterator[Employer]:
        yield from self.employer_rows

    def assistants(self) -> Iterator[Assistant]:
        yield from self.assistant_rows


def depositor(account: str, name: str = "张三明", **changes: object) -> Depositor:
    base = Depositor(
        account_no=account, name=name, mobile=f"+86138{int(account[-8:]):08d}", wechat_openid=None,
        app_user_id=f"app-{account}", employer_id="E001", birth_date=date(1990, 5, 1), status=DepositorStatus.NORMAL,
        monthly_base=8000.0, monthly_deposit=1920.0, balance=60000.0, continuous_months=36,
        opened_on=date(2015, 1, 1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def loan(account: str, kind: LoanKind, **changes: object) -> Loan:
    base = Loan(
        loan_id=f"L{account}{kind}", account_no=account, kind=kind, principal=600000.0, balance=450000.0,
        annual_rate=2.85, remaining_months=240, method="equal_installment", started_on=date(2020, 3, 1),
        repay_withdrawal=False, overdue=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def person(account: str, *loans: Loan, **changes: object) -> Person:
    return Person(depositor(account, **changes), tuple(loans))
