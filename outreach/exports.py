"""The centre's exports as files: `<table>.csv` or `<table>.xlsx` in one folder (docs/outreach.md).

CSV may be UTF-8 (with or without a BOM) or GB18030 (what Excel on Chinese Windows writes); XLSX is
read with openpyxl's read-only mode, row by row. Rows are numbered from 1 after the header. A file with
a required column missing is refused whole; a bad row is reported and skipped.
"""
from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from outreach.centre_schema import (
    ASSISTANTS,
    CONTRIBUTIONS,
    DEPOSITORS,
    EMPLOYERS,
    LOANS,
    Table,
    is_empty,
)
from outreach.centre_stream import CentreDataError, Report, checked, identifiers, merge_people
from outreach.records import Assistant, BadRow, Contribution, Employer, Person

SAMPLE_BYTES = 1 << 20
csv.field_size_limit(1 << 20)


def _encoding(path: Path) -> str:
    """UTF-8 if the first megabyte decodes as UTF-8 (a character cut at its end is fine), else GB18030."""
    with path.open("rb") as file:
        sample = file.read(SAMPLE_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise CentreDataError(f"{path.name}：编码无法识别，请另存为 UTF-8 或 GB18030 编码的 CSV。") from None


class FileSource:
    """Reads the export files in `directory`. `find` scans the depositors (no index on a file): fine for
    an agent looking up one person, not for a loop; the SQL view answers it with an indexed query."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.report = Report()

    # -- the Source protocol --------------------------------------------------------------------------

    def people(self) -> Iterator[Person]:
        return self._people(self.report)

    def employers(self) -> Iterator[Employer]:
        return (record for _, record in self._records(EMPLOYERS, self.report))

    def assistants(self) -> Iterator[Assistant]:
        return (record for _, record in self._records(ASSISTANTS, self.report))

    def contributions(self) -> Iterator[Contribution]:
        return (record for _, record in self._records(CONTRIBUTIONS, self.report))

    def find(self, *, app_user_id: str | None = None, mobile: str | None = None,
             wechat_openid: str | None = None) -> Person | None:
        """The one depositor with this app user id, mobile or openid; None when none or several match
        (two depositors sharing a mobile are not told apart by guessing)."""
        wanted = identifiers(app_user_id=app_user_id, mobile=mobile, wechat_openid=wechat_openid)
        if not wanted:
            return None
        found: list[Person] = []
        for person in self._people(Report()):  # a look-up leaves the last full read's report alone
            d = person.depositor
            if any(getattr(d, field) == value for field, value in wanted.items()):
                found.append(person)
                if len(found) > 1:
                    return None
        return found[0] if found else None

    # -- reading ----------------------------------------------------------------------------------------

    def _people(self, report: Report) -> Iterator[Person]:
        depositors = self._records(DEPOSITORS, report)
        loans_path = self._path(LOANS)
        loans = self._records(LOANS, report)
        yield from merge_people(depositors, loans, loans_path.name, report)

    def _records(self, table: Table, report: Report) -> Iterator[tuple[int, Any]]:
        path = self._path(table)
        rows = _xlsx_rows(path, table) if path.suffix == ".xlsx" else _csv_rows(path, table)
        return checked(table, path.name, _bad_cells(rows, path.name, report), report)

    def _path(self, table: Table) -> Path:
        found = [self.directory / f"{table.name}{suffix}" for suffix in (".csv", ".xlsx")]
        existing = [path for path in found if path.is_file()]
        if not existing:
            raise CentreDataError(f"缺少{table.title}导出文件 {table.name}.csv 或 {table.name}.xlsx"
                                  f"（目录 {self.directory}）。", "centre_data_missing")
        if len(existing) > 1:
            raise CentreDataError(f"{table.name}.csv 与 {table.name}.xlsx 同时存在，请只保留一个。")
        return existing[0]


_CELLS = "__cells__"  # a row whose cell count differs from the header's: reported, not lined up by guess


def _bad_cells(rows: Iterator[tuple[int, Mapping[str, Any]]], file: str,
               report: Report) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for number, values in rows:
        if _CELLS in values:
            report.add(BadRow(file, number, "", "cell_count", values[_CELLS]))
            continue
        yield number, values


def _check_header(header: list[str], table: Table, file: str) -> None:
    duplicated = sorted({name for name in header if name and header.count(name) > 1})
    if duplicated:
        raise CentreDataError(f"{file}：表头中列名重复：{', '.join(duplicated)}。")
    missing = [name for name in table.required if name not in header]
    if missing:
        raise CentreDataError(f"{file}：缺少必需的列：{', '.join(missing)}（列名见 docs/outreach.md）。",
                              "centre_data_column_missing")


def _csv_rows(path: Path, table: Table) -> Iterator[tuple[int, Mapping[str, Any]]]:
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as file:
        reader = csv.reader(file)
        try:
            header = [cell.strip() for cell in next(reader, [])]
            _check_header(header, table, path.name)
            for number, cells in enumerate(reader, start=1):
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    yield number, {_CELLS: f"第{number}行有{len(cells)}个单元格，表头有{len(header)}列。"}
                    continue
                yield number, dict(zip(header, cells, strict=True))
        except UnicodeDecodeError:
            raise CentreDataError(
                f"{path.name}：文件中有不属于 {encoding} 编码的字节，请整体另存为同一种编码。") from None
        except csv.Error as exc:
            raise CentreDataError(f"{path.name}：CSV 格式错误（{exc}）。") from None


def _xlsx_rows(path: Path, table: Table) -> Iterator[tuple[int, Mapping[str, Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged or disguised file
        raise CentreDataError(f"{path.name}：无法读取该 XLSX 文件，请检查文件是否损坏。") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
        _check_header(header, table, path.name)
        for number, cells in enumerate(rows, start=1):
            # Read-only sheets pad or trim rows to the used range: only cells beyond the header count.
            extra = [cell for cell in cells[len(header):] if not is_empty(cell)]
            if extra:
                yield number, {_CELLS: f"第{number}行在表头之外还有数据。"}
                continue
            if all(is_empty(cell) for cell in cells):
                continue
            yield number, dict(zip(header, cells, strict=False))
    finally:
        book.close()
