"""Pieces the response models of every package share."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, WithJsonSchema

# Times go out as the ISO 8601 text the code wrote (UTC, "+00:00"): kept as text, so a response model
# never rewrites one into another spelling of the same moment.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"}), Field(examples=[
    "2026-01-05T02:30:00+00:00"
])]
