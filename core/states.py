"""What every state machine kept by the database shares: a refusal that names the states.

Conversations, handoffs and callback tickets each have an `ALLOWED` table (target state → the states it
may follow) and one module whose functions are the only writers of that state. A change is one
conditional UPDATE (`… WHERE state IN (:allowed)`): among any number of processes attempting it, exactly
one sees a row changed, and everyone else gets an `IllegalTransition`.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

S = TypeVar("S", bound=str)


class IllegalTransition(Exception):
    """`found` is the state the row was in, or None when there is no such row."""

    def __init__(self, what: str, target: str, expected: frozenset[str], found: str | None) -> None:
        self.what, self.target, self.expected, self.found = what, target, expected, found
        wanted = "/".join(sorted(expected))
        super().__init__(f"{what}: cannot become {target} from {found} (expected {wanted})")


def allowed_before(
    table: Mapping[S, frozenset[S]], target: S, expected: frozenset[S] | None = None
) -> frozenset[S]:
    """`expected`, or every state `target` may follow; naming a state the table does not allow before
    `target` is a programming error."""
    allowed = table.get(target, frozenset())
    if expected is None:
        return allowed
    if not expected <= allowed:
        raise ValueError(f"{target} cannot follow {sorted(expected - allowed)}")
    return expected
