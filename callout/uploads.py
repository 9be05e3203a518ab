"""The audience: recipients from an uploaded CSV or XLSX file, or from a JSON list, checked row by row.

Each row needs a mainland number; `name` and any other column become the person's variables. A bad
row (malformed, duplicate or non-mainland number, an empty value for a variable the texts use) is
left out and reported with its row number and reason: nothing is ever sent to it.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from callout import phones
from core.errors import ApiError

MAX_RECIPIENTS = 200_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_VALUE = 200
# What people call the columns in the spreadsheets they export (the first match wins).
PHONE_COLUMNS = ("phone", "mobile", "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "号码")
NAME_COLUMNS = ("name", "姓名", "名字", "客户姓名")


@dataclass(frozen=True)
class Row:
    """One recipient as read: its row number in the source (the header is row 1 in a file)."""

    number: int
    values: dict[str, str]


@dataclass(frozen=True)
class Accepted:
    row: int
    phone: str
    name: str
    variables: dict[str, str]


@dataclass
class Audience:
    columns: set[str]
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


# -- reading ----------------------------------------------------------------------------------------

def read_file(filename: str, content: bytes) -> tuple[list[str], Iterator[Row]]:
    """The header and the rows of a .csv or .xlsx file; 422 for anything else or an unreadable file."""
    lower = filename.lower()
    if lower.endswith(".csv"):
        return _read_csv(content)
    if lower.endswith(".xlsx"):
        return _read_xlsx(content)
    raise ApiError(422, "file_type_unsupported", "仅支持 CSV 或 XLSX 格式的名单文件。")


def _read_csv(content: bytes) -> tuple[list[str], Iterator[Row]]:
    # Excel on Chinese Windows saves CSV in GB18030; everything else in UTF-8 (often with a BOM).
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApiError(422, "file_unreadable", "名单文件编码无法识别，请另存为 UTF-8 编码的 CSV。")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ApiError(422, "file_empty", "名单文件是空的。")
    header = [cell.strip() for cell in header]
    rows = (Row(index, dict(zip(header, (cell.strip() for cell in cells), strict=False)))
            for index, cells in enumerate(reader, start=2) if any(c.strip() for c in cells))
    return header, rows


def _read_xlsx(content: bytes) -> tuple[list[str], Iterator[Row]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or disguised file
        raise ApiError(422, "file_unreadable", "无法读取该 XLSX 文件，请检查文件是否损坏。") from None
    sheet = book.worksheets[0]
    cells = sheet.iter_rows(values_only=True)
    header_cells = next(cells, None)
    if not header_cells:
        raise ApiError(422, "file_empty", "名单文件是空的。")
    header = [_cell(value) for value in header_cells]

    def rows() -> Iterator[Row]:
        for index, values in enumerate(cells, start=2):
            texts = [_cell(value) for value in values]
            if any(texts):
                yield Row(index, dict(zip(header, texts, strict=False)))
        book.close()

    return header, rows()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number column: 13812345678.0 is a phone number, not a float
    return str(value).strip()


def from_json(recipients: Iterable[dict]) -> tuple[list[str], Iterator[Row]]:
    """The API's `recipients: [{"phone", "name", …}]`, numbered from 1."""
    listed = list(recipients)
    header: list[str] = []
    for item in listed:
        for key in item:
            if key not in header:
                header.append(str(key))
    rows = (Row(index, {str(k): _cell(v) for k, v in item.items()}) for index, item in enumerate(listed, start=1))
    return header, rows


# -- checking ---------------------------------------------------------------------------------------

def columns_of(header: list[str]) -> tuple[str, str | None, set[str]]:
    """The phone column, the name column and the variable columns of a header; 422 without a phone column."""
    phone = next((c for c in PHONE_COLUMNS if c in header), None)
    if phone is None:
        raise ApiError(422, "phone_column_missing", "名单中缺少电话号码列（phone 或 手机号）。")
    name = next((c for c in NAME_COLUMNS if c in header), None)
    variables = {c for c in header if c and c not in (phone, name)}
    return phone, name, variables


def check(header: list[str], rows: Iterable[Row], used: list[str]) -> Audience:
    """Accepted recipients and the report of rejected rows. `used` are the variables the texts need."""
    phone_column, name_column, variables = columns_of(header)
    audience = Audience(columns=variables)
    seen: dict[str, int] = {}
    for row in rows:
        if len(audience.accepted) >= MAX_RECIPIENTS:
            raise ApiError(422, "too_many_recipients", f"一次最多导入{MAX_RECIPIENTS}名联系人，请拆分名单。")
        raw_phone = row.values.get(phone_column, "")
        try:
            phone = phones.normalise(raw_phone)
        except phones.BadNumber as bad:
            audience.rejected.append(_rejection(row, raw_phone, bad.code, bad.message))
            continue
        if phone in seen:
            audience.rejected.append(_rejection(row, phone, "phone_duplicate", f"与第{seen[phone]}行的号码重复。"))
            continue
        name = row.values.get(name_column, "") if name_column else ""
        values = {key: row.values.get(key, "") for key in variables} | {"name": name}
        missing = [key for key in used if not values.get(key)]
        if missing:
            audience.rejected.append(
                _rejection(row, phone, "variable_missing", f"缺少变量 {', '.join(missing)} 的值。", missing=missing))
            continue
        too_long = [key for key, value in values.items() if len(value) > MAX_VALUE]
        if too_long:
            audience.rejected.append(
                _rejection(row, phone, "value_too_long", f"{', '.join(too_long)} 的值超过{MAX_VALUE}字。"))
            continue
        seen[phone] = row.number
        audience.accepted.append(Accepted(row=row.number, phone=phone, name=name[:100],
                                          variables={k: v for k, v in values.items() if k != "name"}))
    return audience


def _rejection(row: Row, phone: str, code: str, reason: str, **extra: object) -> dict:
    return {"row": row.number, "phone": phones.mask(str(phone)[:20]), "code": code, "reason": reason, **extra}
