"""Reading a citizen's reply to one checklist question: yes/no, a choice, or a number.

The service sends the question (`{"id","text","type","choices","unit"}`); the citizen taps a button or
types "没有", "第二个", "一年多了", "按额度". Dependency-free like `numbers`, so the service's test
suite can check it without rasa_sdk.
"""
from __future__ import annotations

import re

from . import numbers

# Leaving the check. Narrower than the forms' cancel words: "不用了" and "不要了" answer a yes/no
# question ("配偶也要一起提取吗？" "不用了") rather than end the check.
_CANCEL = re.compile(
    r"^\s*(?:那|哎|唉|嗯)?\s*算了|不查了|别查了|不测了|不看了|不问了|先不查|不想查|取消|退出|不办了|不弄了|不搞了|结束|停止|"
    r"stop|quit|cancel",
    re.IGNORECASE,
)
_PUNCTUATION = re.compile(r"[\s，,。.、；;：:！!？?（）()“”\"'…]+")
_NUMERAL = r"[\d零〇一二两俩三四五六七八九十百.]+"
_YEARS = re.compile(rf"({_NUMERAL})\s*年(半)?")
_MONTHS = re.compile(rf"({_NUMERAL})\s*个?月")
_HALF_YEAR = re.compile(r"半年")


def is_cancel(text: str) -> bool:
    return bool(_CANCEL.search(text))


def _plain(text: str) -> str:
    return _PUNCTUATION.sub("", text).lower()


def _longest_common(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def read_choice(choices: list[dict], text: str) -> str | None:
    """The id of the choice the text picks: its exact text, its number ("2", "第二个"), or the one
    choice sharing the longest run of at least two characters with the reply."""
    plain = _plain(text)
    for choice in choices:
        if plain and plain in (_plain(choice["text"]), str(choice["id"]).lower()):
            return choice["id"]
    index = numbers.choice_index(text)
    if index is not None and 1 <= index <= len(choices):
        return choices[index - 1]["id"]
    scores = [_longest_common(plain, _plain(choice["text"])) for choice in choices]
    best = max(scores, default=0)
    if best >= 2 and scores.count(best) == 1:
        return choices[scores.index(best)]["id"]
    return None


def _months(text: str) -> float | None:
    """"1年3个月" → 15, "两年半" → 30, "半年" → 6, "8个月" → 8; None when no span is written."""
    total, found = 0.0, False
    for match in _YEARS.finditer(text):
        values = numbers.numbers_in(match.group(1))
        if values:
            total += values[0] * 12 + (6 if match.group(2) else 0)
            found = True
    for match in _MONTHS.finditer(text):
        values = numbers.numbers_in(match.group(1))
        if values:
            total += values[0]
            found = True
    if not found and _HALF_YEAR.search(text):
        return 6.0
    return total if found else None


def read_number(question: dict, text: str) -> float | None:
    """A count in the question's unit ("一年多" is 12 when months are asked); "没有" is 0 where 0 is allowed."""
    if question.get("unit") == "个月":
        months = _months(text)
        if months is not None:
            return months
    values = numbers.numbers_in(text)
    if values:
        return float(values[0])
    low = question.get("min")
    if numbers.parse_yes_no(text) is False and (low is None or low <= 0):
        return 0.0
    return None


def read_answer(question: dict, text: str) -> object | None:
    """The answer as the service takes it (true/false, a choice id, a number), or None if unreadable."""
    kind = question.get("type")
    if kind == "yes_no":
        index = numbers.choice_index(text)
        if index in (1, 2):  # channels without buttons show 1. 是  2. 否
            return index == 1
        return numbers.parse_yes_no(text)
    if kind == "number":
        return read_number(question, text)
    return read_choice(list(question.get("choices") or []), text)
