"""The read-only SQL view of the business system, on SQLite and PostgreSQL: the same people as the export
files, bad rows reported, a missing column refused, one person found by an indexed look-up, and no
write possible through the adapter's connection."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from core.settings import Settings, normalise_db_url
from outreach.centre_data import CentreDataError, FileSource, SqlViewSource, open_source
from outreach.synthetic import generate
from tests.databases import postgres_database

AS_OF = date(2026, 12, 1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def centre(request, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A scratch database with the hpf_* views over 600 synthetic depositors, and the same as files."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'centre.db'}"
    else:
        url = postgres_database(request.getfixturevalue("postgres_url"), "centre_view")
    files = tmp_path / "files"
    generate(depositors=600, seed=5, months=3, as_of=AS_OF, out=files, database_url=url)
    yield url, files


def writable(url: str):
    return create_engine(normalise_db_url(url, sync=True))


def test_the_view_reads_like_the_files(centre) -> None:
    url, files = centre
    source = SqlViewSource(url)
    try:
        from_view = list(source.people())
        from_files = list(FileSource(files).people())
        assert from_view == from_files
        assert source.report.count == 0
        assert len(list(source.employers())) == len(list(FileSource(files).employers()))
        assert len(list(source.assistants())) == len(list(FileSource(files).assistants()))
        assert len(list(source.contributions())) == len(list(FileSource(files).contributions()))
    finally:
        source.close()


def test_bad_rows_in_the_view_are_reported(centre) -> None:
    url, _ = centre
    engine = writable(url)
    with engine.begin() as conn:
        first = conn.execute(text("SELECT account_no FROM centre_depositors ORDER BY account_no LIMIT 1")).scalar_one()
        conn.execute(text("UPDATE centre_depositors SET mobile = '010-1234' WHERE account_no = :a"), {"a": first})
        conn.execute(text("UPDATE centre_loans SET balance = principal + 1 WHERE loan_id = "
                          "(SELECT MIN(loan_id) FROM centre_loans)"))
    engine.dispose()
    source = SqlViewSource(url)
    try:
        people = list(source.people())
        assert len(people) == 599 and first not in {p.depositor.account_no for p in people}
        codes = {(bad.file, bad.column, bad.code) for bad in source.report.bad}
        assert ("hpf_depositors", "mobile", "mobile_invalid") in codes
        assert ("hpf_loans", "balance", "balance_above_principal") in codes
        (mobile_bad,) = [bad for bad in source.report.bad if bad.code == "mobile_invalid"]
        assert mobile_bad.row == 1
    finally:
        source.close()


def test_find_uses_the_view(centre) -> None:
    url, files = centre
    people = list(FileSource(files).people())
    borrower = next(p for p in people if p.loans and p.depositor.wechat_openid)
    source = SqlViewSource(url)
    try:
        assert source.find(wechat_openid=borrower.depositor.wechat_openid) == borrower
        assert borrower.depositor.mobile is not None
        assert source.find(mobile=borrower.depositor.mobile.removeprefix("+86")) == borrower
        assert source.find(app_user_id="nobody") is None
    finally:
        source.close()


def test_the_adapter_cannot_write(centre) -> None:
    url, _ = centre
    source = SqlViewSource(url)
    try:
        with source.engine.connect() as conn, pytest.raises(DBAPIError):
            conn.execute(text("UPDATE centre_depositors SET name = 'x'"))
            conn.commit()
        with source.engine.connect() as conn, pytest.raises(DBAPIError):
            conn.execute(text("CREATE TABLE intruder (id INTEGER)"))
            conn.commit()
    finally:
        source.close()


def test_a_view_without_a_required_column_is_refused(centre) -> None:
    url, _ = centre
    engine = writable(url)
    with engine.begin() as conn:
        conn.execute(text("DROP VIEW hpf_employers"))
        conn.execute(text("CREATE VIEW hpf_employers AS SELECT employer_id, name, status FROM centre_employers"))
    engine.dispose()
    source = SqlViewSource(url)
    try:
        with pytest.raises(CentreDataError) as raised:
            list(source.employers())
        assert raised.value.code == "centre_data_column_missing" and "admin_name" in raised.value.message
    finally:
        source.close()


def test_open_source_follows_the_settings(tmp_path: Path) -> None:
    files = open_source(Settings(centre_data_url="", centre_data_dir=tmp_path))
    assert isinstance(files, FileSource) and files.directory == tmp_path
    database = tmp_path / "centre.db"
    generate(depositors=3, as_of=AS_OF, database_url=f"sqlite:///{database}")
    view = open_source(Settings(centre_data_url=f"sqlite:///{database}"))
    assert isinstance(view, SqlViewSource)
    assert len(list(view.people())) == 3
    view.close()
    with pytest.raises(CentreDataError):
        SqlViewSource("mysql://centre/hpf")
