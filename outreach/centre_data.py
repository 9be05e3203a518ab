"""The centre's data, read safely: one protocol over the business system's export files and its
read-only SQL view (docs/outreach.md documents both). Every row is checked; a bad one is reported in
`source.report` and skipped, never guessed at. Depositors come with their loans, in account_no order,
streamed: memory does not depend on how many there are.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from core.settings import Settings
from outreach.centre_stream import CentreDataError, Report
from outreach.exports import FileSource
from outreach.records import Assistant, Contribution, Employer, Person
from outreach.sql_view import SqlViewSource

__all__ = ["CentreDataError", "FileSource", "Report", "Source", "SqlViewSource", "open_source"]


class Source(Protocol):
    report: Report

    def people(self) -> Iterator[Person]:
        """Depositors with their loans, in account_no order."""
        ...

    def employers(self) -> Iterator[Employer]: ...

    def assistants(self) -> Iterator[Assistant]: ...

    def contributions(self) -> Iterator[Contribution]: ...

    def find(self, *, app_user_id: str | None = None, mobile: str | None = None,
             wechat_openid: str | None = None) -> Person | None: ...


def open_source(settings: Settings) -> Source:
    """CENTRE_DATA_URL's read-only view when it is set, else the export files in CENTRE_DATA_DIR."""
    if settings.centre_data_url:
        return SqlViewSource(settings.centre_data_url)
    return FileSource(settings.centre_data_dir)
