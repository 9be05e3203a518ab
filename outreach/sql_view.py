"""The centre's data through a read-only SQL view of the business system (docs/outreach.md).

Views `hpf_depositors`, `hpf_loans`, `hpf_employers`, `hpf_assistants`, `hpf_contributions` with the
documented columns. The connection cannot write: SQLite is opened with `mode=ro`, and on PostgreSQL
every transaction of the session is READ ONLY (the centre should grant only SELECT as well). Rows stream
from the server (a server-side cursor on PostgreSQL), depositors and loans each ordered by account_no
and merge-joined; `find` is one indexed WHERE per look-up.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.settings import normalise_db_url
from outreach.centre_schema import ASSISTANTS, CONTRIBUTIONS, DEPOSITORS, EMPLOYERS, LOANS, Table, read
from outreach.centre_stream import CentreDataError, Report, checked, identifiers, merge_people
from outreach.records import Assistant, Contribution, Employer, Person

BATCH = 2000


def read_only_engine(url: str) -> Engine:
    """A synchronous engine on the centre's database that refuses every write."""
    sync_url = make_url(normalise_db_url(url, sync=True))
    if sync_url.get_backend_name() == "sqlite":
        path = sync_url.database
        if not path or path == ":memory:":
            raise CentreDataError("CENTRE_DATA_URL：SQLite 须指向一个数据库文件。")

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

        return create_engine("sqlite://", creator=connect)
    if sync_url.get_backend_name() == "postgresql":
        engine = create_engine(sync_url)

        @event.listens_for(engine, "connect")
        def read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.close()
            dbapi_connection.commit()

        return engine
    raise CentreDataError("CENTRE_DATA_URL：仅支持 PostgreSQL 或 SQLite 的只读视图（postgresql://… 或 sqlite:///…）。")


class SqlViewSource:
    def __init__(self, url: str) -> None:
        self.engine = read_only_engine(url)
        self.report = Report()
        # PostgreSQL sorts text by the database's locale; the merge join needs plain code-point order.
        self._collate = ' COLLATE "C"' if self.engine.dialect.name == "postgresql" else ""

    def close(self) -> None:
        self.engine.dispose()

    # -- the Source protocol --------------------------------------------------------------------------

    def people(self) -> Iterator[Person]:
        with self.engine.connect() as depositors, self.engine.connect() as loans:
            yield from merge_people(self._records(depositors, DEPOSITORS, self.report),
                                    self._records(loans, LOANS, self.report), LOANS.view, self.report)

    def employers(self) -> Iterator[Employer]:
        yield from self._all(EMPLOYERS)

    def assistants(self) -> Iterator[Assistant]:
        yield from self._all(ASSISTANTS)

    def contributions(self) -> Iterator[Contribution]:
        yield from self._all(CONTRIBUTIONS)

    def find(self, *, app_user_id: str | None = None, mobile: str | None = None,
             wechat_openid: str | None = None) -> Person | None:
        """The one depositor with this app user id, mobile or openid (None when none or several match).
        The view's mobile may hold the 11 digits or +86 and the 11 digits; both are looked up."""
        wanted = identifiers(app_user_id=app_user_id, mobile=mobile, wechat_openid=wechat_openid)
        if not wanted:
            return None
        with self.engine.connect() as conn:
            columns = self._columns(conn, DEPOSITORS)
            conditions: list[str] = []
            params: dict[str, str] = {}
            for field, value in wanted.items():
                if field not in columns:
                    continue
                if field == "mobile":
                    conditions.append("mobile IN (:mobile, :mobile_national)")
                    params |= {"mobile": value, "mobile_national": value.removeprefix("+86")}
                else:
                    conditions.append(f"{field} = :{field}")
                    params[field] = value
            if not conditions:
                return None
            found = conn.execute(text(f"SELECT {', '.join(columns)} FROM {DEPOSITORS.view} "
                                      f"WHERE {' OR '.join(conditions)} LIMIT 2"), params).mappings().all()
            if len(found) != 1:
                return None
            try:
                depositor = read(DEPOSITORS, found[0])
            except ValueError:
                return None  # a bad row is not a person to act on; the full read reports it
            loan_columns = self._columns(conn, LOANS)
            loans = conn.execute(text(f"SELECT {', '.join(loan_columns)} FROM {LOANS.view} "
                                      f"WHERE account_no = :a ORDER BY loan_id"), {"a": depositor.account_no})
            kept = []
            for row in loans.mappings():
                try:
                    kept.append(read(LOANS, row))
                except ValueError:
                    continue
            return Person(depositor, tuple(kept))

    # -- reading ----------------------------------------------------------------------------------------

    def _all(self, table: Table) -> Iterator[Any]:
        with self.engine.connect() as conn:
            for _, record in self._records(conn, table, self.report):
                yield record

    def _records(self, conn: Connection, table: Table, report: Report) -> Iterator[tuple[int, Any]]:
        columns = self._columns(conn, table)
        order = f" ORDER BY {table.key}{self._collate}" if table.key else ""
        try:
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
                text(f"SELECT {', '.join(columns)} FROM {table.view}{order}"))
        except SQLAlchemyError as exc:
            cause = type(getattr(exc, "orig", None) or exc).__name__
            raise CentreDataError(f"{table.view}：查询失败（{cause}）。") from None
        rows = ((number, row) for number, row in enumerate(result.mappings(), start=1))
        return checked(table, table.view, rows, report)

    def _columns(self, conn: Connection, table: Table) -> list[str]:
        """The documented columns the view has; a required one missing refuses the whole view."""
        try:
            present = set(conn.execute(text(f"SELECT * FROM {table.view} WHERE 1 = 0")).keys())
        except SQLAlchemyError:
            conn.rollback()
            raise CentreDataError(f"无法读取视图 {table.view}（不存在或无权限）。", "centre_data_missing") from None
        missing = [name for name in table.required if name not in present]
        if missing:
            raise CentreDataError(f"视图 {table.view} 缺少必需的列：{', '.join(missing)}（列名见 docs/outreach.md）。",
                                  "centre_data_column_missing")
        return [column.name for column in table.columns if column.name in present]
