"""What a log line is about: the request and the conversation it was written for, carried in context
variables (set by core.metrics.RequestMetrics and the hub) so no function has to pass them along, and
the JSON line format that writes them (`LOG_FORMAT=json`)."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timezone

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
conversation_id: ContextVar[str | None] = ContextVar("conversation_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message (already masked by the filter), the
    request and conversation ids where known, and the exception's traceback text if any (masked by `clean`:
    a traceback can quote a citizen's words too)."""

    def __init__(self, clean: Callable[[str], str] = str) -> None:
        super().__init__()
        self._clean = clean

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id), ("conversation_id", conversation_id)):
            value = var.get()
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = self._clean(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)
