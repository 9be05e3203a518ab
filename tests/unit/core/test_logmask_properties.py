"""Personal numbers are masked wherever they stand in Chinese text, and however a log line escaped it:
plain, percent-encoded (a query string), percent-encoded twice, or JSON with \\u escapes."""
from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from core.logmask import MaskingFilter, mask_personal

# Chinese characters and punctuation, Latin letters and spaces: everything a citizen writes around a
# number except more digits (a digit next to it would make it a different, longer number).
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
_AROUND = st.text(st.one_of(_CJK, st.sampled_from("，。？！：、（）《》 ab号码")), max_size=12)
_ENCODINGS = [
    lambda s: s,
    quote,
    quote_plus,
    lambda s: quote(quote(s)),
    lambda s: json.dumps(s),
]


@st.composite
def id_cards(draw) -> str:
    region = draw(st.integers(110000, 659999))
    born = date(1940, 1, 1) + timedelta(days=draw(st.integers(0, 30000)))
    order = draw(st.integers(0, 999))
    check = draw(st.sampled_from("0123456789X"))
    return f"{region}{born:%Y%m%d}{order:03d}{check}"


@st.composite
def mobiles(draw) -> str:
    number = f"1{draw(st.integers(3, 9))}{draw(st.integers(0, 999_999_999)):09d}"
    style = draw(st.sampled_from(["plain", "dashes", "spaces", "+86"]))
    if style == "dashes":
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style == "spaces":
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    return ("+86" if style == "+86" else "") + number


@st.composite
def bank_cards(draw) -> str:
    length = draw(st.integers(16, 19))
    return "62" + "".join(str(draw(st.integers(0, 9))) for _ in range(length - 2))


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _assert_hidden(number: str, before: str, after: str) -> None:
    for encode in _ENCODINGS:
        masked = mask_personal(encode(f"{before}{number}{after}"))
        assert number not in masked and _digits(number) not in _digits(masked), (encode, masked)
        assert "****" in masked, masked


@given(id_cards(), _AROUND, _AROUND)
def test_id_card_numbers_are_masked_anywhere(number, before, after):
    _assert_hidden(number, before, after)


@given(mobiles(), _AROUND, _AROUND)
def test_mobile_numbers_are_masked_anywhere(number, before, after):
    _assert_hidden(number, before, after)


@given(bank_cards(), _AROUND, _AROUND)
def test_bank_card_numbers_are_masked_anywhere(number, before, after):
    _assert_hidden(number, before, after)


@given(st.integers(0, 999_999_999), _AROUND)
def test_short_amounts_stay_readable(amount, around):
    text = f"{around}贷款{amount}元"
    assert mask_personal(text) == text


def test_the_reported_leak_a_query_string_of_the_bot_is_masked(caplog):
    """The action server's call as uvicorn logged it, before citizens' text left URLs."""
    import logging

    logger = logging.getLogger("test.masking.url")
    logger.addFilter(MaskingFilter())
    question = "我的身份证130402199001011234，手机13812345678，怎么提取"
    with caplog.at_level(logging.INFO):
        logger.info('127.0.0.1 - "GET /api/v1/knowledge/answer?q=%s HTTP/1.1" 200', quote(question))
    assert "19900101" not in caplog.text and "1234,5678" not in caplog.text
    assert "130402********1234" in caplog.text and "138****5678" in caplog.text
