"""Reading the values citizens type into the loan forms: amounts, years, yes/no and choices.

Citizens write "三十万", "3.5万", "1百万", "八十万零五千", "1,000,000" or "5000一个月"; DIET cannot
learn such numbers reliably, so the forms parse the raw text here. Dependency-free on purpose:
the service's test suite imports it as `bot.actions.numbers` without rasa_sdk installed.
"""
from __future__ import annotations

import re
import unicodedata

_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3, "仨": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = (("亿", 100_000_000), ("万", 10_000))
_CN_DIGIT_CLASS = "".join(_DIGITS)
_UNIT_CLASS = "".join(_SMALL_UNITS) + "万亿"

# One number as written: Arabic digits (with a decimal part) or Chinese digits, mixed with units.
_RUN = re.compile(rf"(?:\d+(?:\.\d+)?|[{_CN_DIGIT_CLASS}{_UNIT_CLASS}])+")
_TOKEN = re.compile(rf"\d+(?:\.\d+)?|[{_CN_DIGIT_CLASS}]|[{_UNIT_CLASS}]")
# Thousands separators ("1,000,000"); a comma before fewer or more than three digits separates clauses.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# "1.2w" / "5k" are common shorthand in chats.
_LETTER_UNITS = re.compile(r"(?<=\d)\s*([wWkK])(?![a-zA-Z])")
# A count: Arabic digits not cut out of a longer number, or a short Chinese numeral.
_COUNT = rf"(?:(?<![\d.])\d+(?:\.\d+)?|[{_CN_DIGIT_CLASS}十拾百佰]{{1,4}})"
# Numbers that count something other than money; blanked out before looking for an amount.
_NOT_MONEY = re.compile(rf"第\s*{_COUNT}|{_COUNT}\s*(?:年|岁|周岁|个月|月份|期|套|次|%|个|倍|成|号|楼|口|孩|娃|胎|人)")
_YEARS = re.compile(rf"({_COUNT})\s*(?:年|载)")
_MONTHS = re.compile(rf"({_COUNT})\s*(?:个月|期)")

_CANCEL = re.compile(
    r"^\s*(?:那|哎|唉|嗯)?\s*算了|不算了|别算了|不用算|不想算|先不算|不要算|不算啦|取消|退出|不弄了|不搞了|不办了|"
    r"不问了|结束|停止|不用了|不要了|不需要了|再见|拜拜|stop|quit|cancel",
    re.IGNORECASE,
)
_UNSURE = re.compile(r"不知道|不清楚|不确定|不晓得|不记得|忘了|没数|不懂")
_SURELY = re.compile(r"没问题|没错|不错|那当然|可不是")
_NO = re.compile(
    r"不是|不对|没有|没交|没缴|没|否|不|无|单方|只有我|就我|只我|我自己|一个人|单身|未婚|离婚|离异|\bno\b|^n$", re.I
)
_YES = re.compile(
    r"是|对|嗯|有|都|双方|两个人|俩人|两口子|夫妻|一起|也交|也缴|中|行|可以|没错|当然|yes|^y$|^ok$|好", re.I
)
_EQUAL_INSTALLMENT = re.compile(r"本息|等额本|每月一样|每个月一样|固定|不变|一样多|每月相同|均摊")
_EQUAL_PRINCIPAL = re.compile(r"本金|递减|越来越少|越还越少|逐月减少|先多后少|前多后少")
_INDIFFERENT = re.compile(r"随便|都行|都可以|无所谓|默认|你定|推荐|哪个好")
_BOTH_SPOUSES = re.compile(
    r"(?:夫妻|两口子|俩人|我们俩|双方|我和(?:老婆|老公|爱人|媳妇|对象|妻子|丈夫))[^,.。!?]{0,4}都"
)
_NO_HOME_YET = re.compile(r"没买过|没有房|没房|无房|名下没有")
_FIRST_HOME = re.compile(r"首套|第一套|第1套|头一套|首次|第一次买|头回|刚需")
_SECOND_HOME = re.compile(r"二套|第二套|第2套|第二次|改善|已经有一套|有一套|名下有房")
_THIRD_OR_MORE = re.compile(r"(?:第\s*)?[三四五3-5]\s*套")


_NEGATIVE = re.compile(r"(^|[^\d])[-−负]\s*[\d零一二两三四五六七八九十百千万]")


def _normalise(text: str) -> str:
    # NFKC turns full-width digits, letters and "，" into ASCII, so "３０万" reads like "30万".
    text = unicodedata.normalize("NFKC", text)
    text = _THOUSANDS.sub("", text)
    return _LETTER_UNITS.sub(lambda m: "万" if m.group(1) in "wW" else "千", text)


def _tokens(run: str) -> list[str]:
    return _TOKEN.findall(run)


def _is_number(token: str) -> bool:
    return token[0].isdigit() or token in _DIGITS


def _number(token: str) -> float:
    return float(token) if token[0].isdigit() else float(_DIGITS[token])


def _split_expressions(run: str) -> list[list[str]]:
    """Split a run like "5000一" or "30万20" into the numbers it holds.

    Two numbers side by side start a new number, unless the first is 零 ("零五") or the second
    is a single digit after 万/亿 ("3万5", "十二万五": spoken shorthand for 35,000 and 125,000).
    """
    groups: list[list[str]] = [[]]
    for token in _tokens(run):
        current = groups[-1]
        if current and _is_number(token) and _is_number(current[-1]) and _DIGITS.get(current[-1]) != 0:
            groups.append([token])
            continue
        if current and _is_number(token) and current[-1] in "万亿" and len(token) > 1 and "." not in token:
            groups.append([token])
            continue
        current.append(token)
    return [g for g in groups if g]


def _section_value(tokens: list[str]) -> float | None:
    """Value of a number below 10,000: "三千五百", "3千5", "一千零五", "二十", "1,200"."""
    total = 0.0
    current: float | None = None
    last_unit = 0
    after_zero = False
    for token in tokens:
        if _is_number(token):
            value = _number(token)
            if value == 0 and not token[0].isdigit():
                after_zero, current = True, None
                continue
            current = value
        elif token in _SMALL_UNITS:
            unit = _SMALL_UNITS[token]
            total += (1 if current is None else current) * unit
            current, last_unit = None, unit
        else:
            return None
    if current is not None:
        # "两千五" and "三百五" mean 2,500 and 350: a bare trailing digit counts in the next lower unit.
        if last_unit >= 100 and not after_zero and current < 10 and current == int(current):
            total += current * last_unit / 10
        else:
            total += current
    return total


def _value(tokens: list[str]) -> float | None:
    for unit, multiplier in _BIG_UNITS:
        if unit in tokens:
            index = tokens.index(unit)
            head, tail = tokens[:index], tokens[index + 1 :]
            head_value = _value(head) if head else None
            if head_value is None:
                return None
            tail_value = _tail_value(tail, multiplier)
            if tail_value is None:
                return None
            return head_value * multiplier + tail_value
    return _section_value(tokens) if tokens else None


def _tail_value(tail: list[str], multiplier: int) -> float | None:
    if not tail:
        return 0.0
    if tail[0] in ("零", "〇"):
        return _value(tail[1:]) if len(tail) > 1 else 0.0
    if len(tail) == 1 and _is_number(tail[0]) and len(tail[0]) == 1:
        return _number(tail[0]) * multiplier / 10
    value = _value(tail)
    return value if value is not None and value < multiplier else None


def _has_magnitude(tokens: list[str]) -> bool:
    return any(t in _SMALL_UNITS or t in "万亿" or t[0].isdigit() for t in tokens)


def numbers_in(text: str) -> list[float]:
    """Every number written in the text, in order, Arabic or Chinese ("30万", "二十", "1,000,000")."""
    found = []
    for run in _RUN.findall(_normalise(text)):
        for tokens in _split_expressions(run):
            value = _value(tokens)
            if value is not None:
                found.append(value)
    return found


def parse_amount(text: str) -> float | None:
    """An amount of money in yuan: "30万" → 300000, "八十万零五千" → 805000, "5000一个月" → 5000.

    Counts of other things ("20年", "第二套", "两个孩子") are ignored, and so is a lone small Chinese
    digit, which is usually a word ("一下", "两口子") rather than a sum of money.
    """
    text = _NOT_MONEY.sub(" ", _normalise(text))
    for run in _RUN.findall(text):
        for tokens in _split_expressions(run):
            value = _value(tokens)
            if value is None:
                continue
            if not _has_magnitude(tokens) and value < 10:
                continue
            # "负五万" / "-5万": kept negative, so the form refuses it instead of reading 5万.
            return -value if _NEGATIVE.search(text) else value
    return None


def has_money_unit(text: str) -> bool:
    """Whether the citizen wrote a unit ("30万", "300000元", "5千块"), so a bare "30" can be told apart."""
    return bool(re.search(r"[万亿千百wWkK元块]", _normalise(text)))


def parse_years(text: str) -> int | None:
    """A loan term in whole years: "20年", "二十年", "30", "240个月"."""
    text = _normalise(text)
    match = _YEARS.search(text)
    if match:
        values = numbers_in(match.group(1))
        return _whole(values[0]) if values else None
    match = _MONTHS.search(text)
    if match:
        values = numbers_in(match.group(1))
        if values and values[0] % 12 == 0:
            return int(values[0] // 12)
        return None
    values = numbers_in(text)
    return _whole(values[0]) if len(values) == 1 else None


def _whole(value: float) -> int | None:
    return int(value) if value == int(value) else None


def parse_yes_no(text: str) -> bool | None:
    """Yes or no, in the many ways people say it ("中", "都交着呢", "没有", "就我一个人")."""
    text = _normalise(text).strip()
    if not text or _UNSURE.search(text):
        return None
    if _SURELY.search(text):
        return True
    if _NO.search(text):
        return False
    if _YES.search(text):
        return True
    return None


def parse_method(text: str) -> str | None:
    """The repayment method: "equal_installment" (等额本息) or "equal_principal" (等额本金)."""
    text = _normalise(text)
    installment, principal = bool(_EQUAL_INSTALLMENT.search(text)), bool(_EQUAL_PRINCIPAL.search(text))
    # "等额本" matches both spellings' prefix, so a text that names 本金 is equal principal.
    if principal and not re.search(r"本息", text):
        return "equal_principal"
    if installment and not principal:
        return "equal_installment"
    return None


def is_indifferent(text: str) -> bool:
    """"随便" / "都行": the citizen leaves the choice to us."""
    return bool(_INDIFFERENT.search(_normalise(text)))


def parse_home(text: str) -> str | None:
    """Whether the loan is for a first ("first") or second ("second") home."""
    text = _normalise(text)
    if _THIRD_OR_MORE.search(text):
        return None
    if _NO_HOME_YET.search(text):
        return "first"
    if _SECOND_HOME.search(text):
        return "second"
    if _FIRST_HOME.search(text):
        return "first"
    return None


def is_third_home(text: str) -> bool:
    return bool(_THIRD_OR_MORE.search(_normalise(text)))


def mentions_both_spouses(text: str) -> bool:
    """"我和老婆都交公积金": both spouses deposit, said in passing."""
    return bool(_BOTH_SPOUSES.search(_normalise(text)))


def is_cancel(text: str) -> bool:
    """"算了" / "不算了" / "取消": the citizen wants to leave the form."""
    return bool(_CANCEL.search(_normalise(text)))


def choice_index(text: str) -> int | None:
    """"1" / "选2" / "第二个": a pick from numbered choices, as channels without buttons show them."""
    match = re.fullmatch(r"\s*(?:选|第)?\s*([1-9一二三四五六七八九])\s*(?:个|项|\.|、)?\s*", _normalise(text))
    if not match:
        return None
    token = match.group(1)
    return int(token) if token.isdigit() else _DIGITS[token]


def is_unsure(text: str) -> bool:
    return bool(_UNSURE.search(_normalise(text)))
