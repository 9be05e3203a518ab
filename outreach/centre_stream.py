"""What both kinds of source share: the bad-row report, the sort-order check and the merge join of
depositors with their loans. Everything here streams: memory does not grow with the number of rows."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from core.errors import ApiError
from outreach.centre_schema import Invalid, Table, normalise_mobile, read
from outreach.records import BadRow, Depositor, Loan, Person

MAX_KEPT = 1000


class CentreDataError(ApiError):
    """A whole file or view cannot be read (missing, a required column absent, unreadable): the
    message names the file and what to fix, in Chinese."""

    def __init__(self, message: str, code: str = "centre_data_invalid") -> None:
        super().__init__(503, code, message)


class Report:
    """The rows left out, per file or view: the first `MAX_KEPT` in full, all of them counted.
    Reading a file again replaces what was reported for it."""

    def __init__(self) -> None:
        self.bad: list[BadRow] = []
        self._counts: dict[str, int] = {}

    @property
    def count(self) -> int:
        return sum(self._counts.values())

    def start(self, file: str) -> None:
        self.bad = [row for row in self.bad if row.file != file]
        self._counts[file] = 0

    def add(self, bad: BadRow) -> None:
        self._counts[bad.file] = self._counts.get(bad.file, 0) + 1
        if len(self.bad) < MAX_KEPT:
            self.bad.append(bad)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)


def checked(table: Table, file: str, rows: Iterable[tuple[int, Mapping[Any, Any]]],
            report: Report) -> Iterator[tuple[int, Any]]:
    """(row number, record) for each row that passes its columns' checks and, for a sorted table, comes
    in ascending key order (a depositor's account number at most once); the others are reported."""
    report.start(file)
    last: str | None = None
    unique = table.name == "depositors"
    for number, values in rows:
        try:
            record = read(table, values)
        except Invalid as bad:
            report.add(BadRow(file, number, bad.column, bad.code, bad.message))
            continue
        if table.key is not None:
            key = getattr(record, table.key)
            if last is not None and key < last:
                report.add(BadRow(file, number, table.key, "out_of_order",
                                  f"{table.key} 比上一条有效行的小：文件须按 {table.key} 升序排列。"))
                continue
            if unique and key == last:
                report.add(BadRow(file, number, table.key, "duplicate",
                                  f"{table.key} 与上一条有效行重复。"))
                continue
            last = key
        yield number, record


def merge_people(depositors: Iterator[tuple[int, Depositor]], loans: Iterator[tuple[int, Loan]],
                 loans_file: str, report: Report) -> Iterator[Person]:
    """Each depositor with their loans, both streams in account_no order (a merge join). A loan whose
    account is not among the depositors is reported, not attached to a neighbour."""
    pending = next(loans, None)
    for _, depositor in depositors:
        mine: list[Loan] = []
        while pending is not None and pending[1].account_no <= depositor.account_no:
            number, loan = pending
            if loan.account_no == depositor.account_no:
                mine.append(loan)
            else:
                _orphan(report, loans_file, number)
            pending = next(loans, None)
        yield Person(depositor, tuple(mine))
    while pending is not None:
        _orphan(report, loans_file, pending[0])
        pending = next(loans, None)


def _orphan(report: Report, file: str, number: int) -> None:
    report.add(BadRow(file, number, "account_no", "depositor_missing",
                      "借款人账号不在个人缴存信息中（或那一行有误被跳过）。"))


def identifiers(**given: str | None) -> dict[str, str]:
    """The identifiers asked for, the mobile in the stored E.164 form (one that is no mobile finds none)."""
    wanted = {field: value for field, value in given.items() if value}
    if "mobile" in wanted:
        try:
            wanted["mobile"] = normalise_mobile(wanted["mobile"])
        except ValueError:
            del wanted["mobile"]
            if not wanted:
                return {}
    return wanted
