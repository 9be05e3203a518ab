"""The documented columns of the centre's exports and views, and the checks every row passes.

Messages never repeat a cell's value (dates of birth, amounts, numbers are personal): the file, row and
column say where to look. Only an enumeration's unknown code is quoted, short, to show the typo.

One table of columns serves the CSV/XLSX files and the SQL views alike: a value arrives as text from a
CSV, as a number or a date from XLSX or SQL, and either way it is checked the same and becomes the
typed records of `outreach.records`. A value that does not fit raises `Invalid` with a stable code
and a Chinese message; nothing is ever guessed (docs/outreach.md lists every column).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from outreach.records import (
    Assistant,
    AssistantKind,
    Contribution,
    Depositor,
    DepositorStatus,
    Employer,
    Loan,
    LoanKind,
)


class Invalid(ValueError):
    """A value that is not what the column documents: `code` is stable, `message` Chinese."""

    def __init__(self, column: str, code: str, message: str) -> None:
        super().__init__(code)
        self.column, self.code, self.message = column, code, message


Parse = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Parse            # a non-empty raw value → the typed value, or raises ValueError(code, message)
    required: bool
    title: str              # Chinese, for messages and the documentation


@dataclass(frozen=True, slots=True)
class Table:
    name: str               # the export's file stem and, prefixed with hpf_, the view's name
    title: str
    columns: tuple[Column, ...]
    build: Callable[[dict[str, Any]], Any]
    key: str | None         # the column the rows are sorted by, when they must be

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    @property
    def view(self) -> str:
        return f"hpf_{self.name}"


class _Bad(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


def is_empty(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def read(table: Table, values: Mapping[Any, Any]) -> Any:
    """One row's values (by column name; a column the source lacks is simply absent) → its record."""
    typed: dict[str, Any] = {}
    get = values.get
    for column in table.columns:
        raw = get(column.name)
        # A segment run reads millions of rows: the common cases are tested first, inline.
        if raw is None or (raw.__class__ is str and (raw == "" or raw.isspace())):
            if column.required:
                raise Invalid(column.name, "value_missing", f"{column.title}（{column.name}）不能为空。")
            typed[column.name] = None
            continue
        try:
            typed[column.name] = column.parse(raw)
        except _Bad as bad:
            raise Invalid(column.name, bad.code, f"{column.title}（{column.name}）{bad.message}") from None
    return table.build(typed)


# -- value parsers ------------------------------------------------------------------------------------

def _text(limit: int) -> Parse:
    def parse(raw: object) -> str:
        if isinstance(raw, str):
            text = raw.strip()
            if len(text) > limit:
                raise _Bad("too_long", f"超过{limit}个字符。")
            return text
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # an XLSX number cell holding an id
        if isinstance(raw, (datetime, date, bool)):
            raise _Bad("not_text", "应为文本。")
        text = str(raw).strip()
        if len(text) > limit:
            raise _Bad("too_long", f"超过{limit}个字符。")
        return text
    return parse


def _number(*, low: float = 0.0, high: float = 1e10, strictly_above_low: bool = False) -> Parse:
    def parse(raw: object) -> float:
        if isinstance(raw, bool) or isinstance(raw, (datetime, date)):
            raise _Bad("not_a_number", "应为数字。")
        try:
            value = float(raw) if isinstance(raw, (int, float)) else float(str(raw))
        except ValueError:
            try:
                value = float(str(raw).strip().replace(",", ""))  # 1,234.5 as Excel shows it
            except ValueError:
                raise _Bad("not_a_number", "应为数字。") from None
        if not math.isfinite(value):
            raise _Bad("not_a_number", "应为数字。")
        if value < low or (strictly_above_low and value == low) or value > high:
            bound = f"大于{low:g}" if strictly_above_low else f"不小于{low:g}"
            raise _Bad("out_of_range", f"应{bound}且不大于{high:g}。")
        return value
    return parse


def _integer(*, low: int = 0, high: int = 10_000) -> Parse:
    number = _number(low=low, high=high)

    def parse(raw: object) -> int:
        value = number(raw)
        if not value.is_integer():
            raise _Bad("not_an_integer", "应为整数。")
        return int(value)
    return parse


_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _date(raw: object) -> date:
    if isinstance(raw, str) and len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    if isinstance(raw, datetime):
        return raw.date()  # XLSX date cells arrive as datetimes at midnight
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    match = _DATE.match(text[:10] if len(text) == 19 and text[10] == " " else text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise _Bad("date_invalid", "应为真实的日期，格式 YYYY-MM-DD。")


def _month(raw: object) -> str:
    if isinstance(raw, (datetime, date)):
        return f"{raw.year:04d}-{raw.month:02d}"
    text = str(raw).strip()
    match = _MONTH.match(text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise _Bad("month_invalid", "应为年月，格式 YYYY-MM。")
    return text


_TRUE = frozenset({"1", "true", "yes", "y", "是"})
_FALSE = frozenset({"0", "false", "no", "n", "否"})


def _bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad("bool_invalid", "应为 1/0（是/否）。")


def _enum(kind: type[StrEnum], labels: Mapping[str, str]) -> Parse:
    """A documented code, or the Chinese label the business system's screens use for it."""
    allowed = {member.value: member for member in kind} | {label: kind(code) for label, code in labels.items()}

    def parse(raw: object) -> StrEnum:
        text = str(raw).strip()
        member = allowed.get(text) or allowed.get(text.lower())
        if member is None:
            raise _Bad("enum_invalid", f"应为 {' / '.join(m.value for m in kind)} 之一，实际为“{text[:20]}”。")
        return member
    return parse


class Method(StrEnum):
    EQUAL_INSTALLMENT = "equal_installment"
    EQUAL_PRINCIPAL = "equal_principal"


class EmployerStatus(StrEnum):
    NORMAL = "normal"
    SUSPENDED = "suspended"
    CLOSED = "closed"


# Mainland mobiles: 11 digits from 13x to 19x. The export is the centre's verified record, so anything
# else (a landline, a typo) is reported rather than repaired; spaces and dashes are only layout.
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_LAYOUT = str.maketrans("", "", " -")


def normalise_mobile(raw: object) -> str:
    """+86 and 11 digits (E.164), or ValueError: the one form identities and campaigns store."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    match = _MOBILE.match(str(raw).strip().translate(_LAYOUT))
    if not match:
        raise _Bad("mobile_invalid", "不是有效的中国大陆手机号。")
    return f"+86{match[1]}"


# -- the tables -------------------------------------------------------------------------------------

def _depositor(v: dict[str, Any]) -> Depositor:
    return Depositor(
        account_no=v["account_no"], name=v["name"], mobile=v["mobile"], wechat_openid=v["wechat_openid"],
        app_user_id=v["app_user_id"], employer_id=v["employer_id"], birth_date=v["birth_date"],
        status=v["status"], monthly_base=v["monthly_base"], monthly_deposit=v["monthly_deposit"],
        balance=v["balance"], continuous_months=v["continuous_months"], opened_on=v["opened_on"],
    )


def _loan(v: dict[str, Any]) -> Loan:
    if v["balance"] > v["principal"]:
        raise Invalid("balance", "balance_above_principal", "贷款余额（balance）大于贷款本金（principal）。")
    return Loan(
        loan_id=v["loan_id"], account_no=v["account_no"], kind=v["kind"], principal=v["principal"],
        balance=v["balance"], annual_rate=v["annual_rate"], remaining_months=v["remaining_months"],
        method=str(v["method"]), started_on=v["started_on"], repay_withdrawal=v["repay_withdrawal"],
        overdue=v["overdue"],
    )


def _employer(v: dict[str, Any]) -> Employer:
    return Employer(employer_id=v["employer_id"], name=v["name"], admin_name=v["admin_name"],
                    admin_mobile=v["admin_mobile"], status=str(v["status"]))


def _assistant(v: dict[str, Any]) -> Assistant:
    return Assistant(assistant_id=v["assistant_id"], name=v["name"], mobile=v["mobile"],
                     organisation=v["organisation"], kind=v["kind"])


def _contribution(v: dict[str, Any]) -> Contribution:
    return Contribution(account_no=v["account_no"], month=v["month"], amount=v["amount"], paid=v["paid"])


_ID = _text(32)
_NAME = _text(50)
_MONEY = _number(high=1e9)

DEPOSITORS = Table("depositors", "个人缴存信息", (
    Column("account_no", _ID, True, "个人公积金账号"),
    Column("name", _NAME, True, "姓名"),
    Column("mobile", normalise_mobile, False, "手机号"),
    Column("wechat_openid", _text(64), False, "微信 openid"),
    Column("app_user_id", _text(64), False, "App 用户号"),
    Column("employer_id", _ID, True, "单位账号"),
    Column("birth_date", _date, True, "出生日期"),
    Column("status", _enum(DepositorStatus, {"正常": "normal", "封存": "sealed", "销户": "closed"}), True,
           "账户状态"),
    Column("monthly_base", _MONEY, True, "缴存基数"),
    Column("monthly_deposit", _MONEY, True, "月缴存额"),
    Column("balance", _MONEY, True, "账户余额"),
    Column("continuous_months", _integer(high=1200), True, "连续足额缴存月数"),
    Column("opened_on", _date, True, "开户日期"),
), _depositor, "account_no")

LOANS = Table("loans", "个人贷款信息", (
    Column("loan_id", _ID, True, "贷款合同号"),
    Column("account_no", _ID, True, "借款人公积金账号"),
    Column("kind", _enum(LoanKind, {"公积金贷款": "hpf", "商业贷款": "commercial", "组合贷款": "combination"}),
           True, "贷款种类"),
    Column("principal", _number(high=1e8, strictly_above_low=True), True, "贷款本金"),
    Column("balance", _number(high=1e8), True, "贷款余额"),
    Column("annual_rate", _number(high=15, strictly_above_low=True), True, "年利率（%）"),
    Column("remaining_months", _integer(high=360), True, "剩余期数（月）"),
    Column("method", _enum(Method, {"等额本息": "equal_installment", "等额本金": "equal_principal"}), True,
           "还款方式"),
    Column("started_on", _date, True, "放款日期"),
    Column("repay_withdrawal", _bool, True, "已签约偿还贷款提取"),
    Column("overdue", _bool, True, "是否逾期"),
), _loan, "account_no")

EMPLOYERS = Table("employers", "单位信息", (
    Column("employer_id", _ID, True, "单位账号"),
    Column("name", _text(100), True, "单位名称"),
    Column("admin_name", _NAME, True, "单位专管员姓名"),
    Column("admin_mobile", normalise_mobile, False, "专管员手机号"),
    Column("status", _enum(EmployerStatus, {"正常": "normal", "暂停缴存": "suspended", "注销": "closed"}), True,
           "单位状态"),
), _employer, None)

ASSISTANTS = Table("assistants", "协办人员信息", (
    Column("assistant_id", _ID, True, "协办人员编号"),
    Column("name", _NAME, True, "姓名"),
    Column("mobile", normalise_mobile, False, "手机号"),
    Column("organisation", _text(100), True, "所属开发商或银行"),
    Column("kind", _enum(AssistantKind, {"开发商": "developer", "银行": "bank"}), True, "类别"),
), _assistant, None)

CONTRIBUTIONS = Table("contributions", "月度缴存明细", (
    Column("account_no", _ID, True, "个人公积金账号"),
    Column("month", _month, True, "缴存年月"),
    Column("amount", _MONEY, True, "缴存金额"),
    Column("paid", _bool, True, "是否足额到账"),
), _contribution, "account_no")

TABLES: dict[str, Table] = {t.name: t for t in (DEPOSITORS, LOANS, EMPLOYERS, ASSISTANTS, CONTRIBUTIONS)}
