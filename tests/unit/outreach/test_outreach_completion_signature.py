"""The completion webhook's signature, for any body and time: the signer's own call passes, a changed
byte, another key or a time outside the window does not, and whatever the headers hold the answer is a
401 with its stable code, never an unexpected error."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApiError
from outreach.completions import WINDOW, check_signature, signature

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)
SECRET = "business-system-shared-secret"


def refusal(timestamp: str | None, given_signature: str | None, body: bytes, secret: str = SECRET) -> str | None:
    try:
        check_signature(secret, timestamp, given_signature, body, NOW)
    except ApiError as error:
        assert error.status == 401
        return error.code
    return None


@given(body=st.binary(max_size=2000), skew=st.integers(-int(WINDOW.total_seconds()), int(WINDOW.total_seconds())))
def test_the_signers_own_call_passes(body: bytes, skew: int) -> None:
    timestamp = str(int((NOW + timedelta(seconds=skew)).timestamp()))
    assert refusal(timestamp, signature(SECRET, timestamp, body), body) is None
    assert refusal(timestamp, signature(SECRET, timestamp, body).upper(), body) is None  # hex in either case


@given(body=st.binary(min_size=1, max_size=500), at=st.integers(min_value=0), flip=st.integers(1, 255))
def test_a_changed_byte_or_another_key_is_a_bad_signature(body: bytes, at: int, flip: int) -> None:
    timestamp = str(int(NOW.timestamp()))
    good = signature(SECRET, timestamp, body)
    at %= len(body)
    changed = body[:at] + bytes([body[at] ^ flip]) + body[at + 1:]
    assert refusal(timestamp, good, changed) == "bad_signature"
    assert refusal(timestamp, signature("another secret", timestamp, body), body) == "bad_signature"


@given(skew=st.integers(int(WINDOW.total_seconds()) + 1, 10 * 365 * 86400), sign=st.sampled_from([-1, 1]))
def test_outside_the_window_is_stale(skew: int, sign: int) -> None:
    timestamp = str(int(NOW.timestamp()) + sign * skew)
    assert refusal(timestamp, signature(SECRET, timestamp, b"{}"), b"{}") == "stale_request"


@given(timestamp=st.one_of(st.none(), st.text(max_size=40)), given_signature=st.one_of(st.none(), st.text(max_size=80)))
def test_any_headers_are_refused_cleanly(timestamp: str | None, given_signature: str | None) -> None:
    assert refusal(timestamp, given_signature, b'{"a":1}') in ("bad_signature", "stale_request")


@pytest.mark.parametrize("timestamp", ["99999999999999999999999", "-99999999999999", "1e9", "0x10"])
def test_a_signed_but_absurd_timestamp_is_stale(timestamp: str) -> None:
    assert refusal(timestamp, signature(SECRET, timestamp, b"{}"), b"{}") == "stale_request"
