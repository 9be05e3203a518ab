"""The bot's form parsing: amounts, years and choices written the way citizens write them."""
from __future__ import annotations

import pytest

from bot.actions import numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30万", 300_000),
        ("三十万", 300_000),
        ("300000", 300_000),
        ("30万元", 300_000),
        ("三十万块", 300_000),
        ("3.5万", 35_000),
        ("1百万", 1_000_000),
        ("一百二十万", 1_200_000),
        ("1,000,000", 1_000_000),
        ("八十万零五千", 805_000),
        ("３０万", 300_000),
        ("1,200元", 1_200),
        ("两千五", 2_500),
        ("5千", 5_000),
        ("五千块钱", 5_000),
        ("一千零五", 1_005),
        ("3万5", 35_000),
        ("十二万五", 125_000),
        ("1.2w", 12_000),
        ("8k", 8_000),
        ("一万", 10_000),
        ("两百万", 2_000_000),
        ("1亿", 100_000_000),
        ("大概三十万吧", 300_000),
        ("我想贷30万", 300_000),
        ("帮我算一下30万", 300_000),
        ("5000一个月", 5_000),
        ("一个月5000", 5_000),
        ("每月还2000", 2_000),
        ("贷30万20年", 300_000),
        ("三十万二十年", 300_000),
        ("第二套房，总价120万", 1_200_000),
        ("0", 0),
    ],
)
def test_amounts(text: str, expected: float) -> None:
    assert numbers.parse_amount(text) == expected


@pytest.mark.parametrize("text", ["", "不知道", "一下", "两口子", "asdf", "20年", "第二套", "万一呢"])
def test_not_an_amount(text: str) -> None:
    assert numbers.parse_amount(text) is None


def test_money_unit() -> None:
    assert numbers.has_money_unit("30万")
    assert numbers.has_money_unit("300000元")
    assert not numbers.has_money_unit("30")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20年", 20),
        ("二十年", 20),
        ("30", 30),
        ("三十", 30),
        ("贷15年吧", 15),
        ("240个月", 20),
        ("30万20年", 20),
        ("十年", 10),
    ],
)
def test_years(text: str, expected: int) -> None:
    assert numbers.parse_years(text) == expected


@pytest.mark.parametrize("text", ["不知道", "越长越好", "18个月", "2.5"])
def test_not_years(text: str) -> None:
    assert numbers.parse_years(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("是", True),
        ("是的，都交", True),
        ("对", True),
        ("嗯嗯", True),
        ("中", True),
        ("两口子都交着呢", True),
        ("没问题", True),
        ("不是", False),
        ("没有", False),
        ("否", False),
        ("就我一个人交", False),
        ("未婚", False),
        ("不知道", None),
        ("", None),
    ],
)
def test_yes_no(text: str, expected: bool | None) -> None:
    assert numbers.parse_yes_no(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("等额本息", "equal_installment"),
        ("本息", "equal_installment"),
        ("每月还一样多的", "equal_installment"),
        ("等额本金", "equal_principal"),
        ("等额本金吧", "equal_principal"),
        ("越还越少那种", "equal_principal"),
        ("等额本息和等额本金哪个好", None),
        ("不知道", None),
    ],
)
def test_method(text: str, expected: str | None) -> None:
    assert numbers.parse_method(text) == expected


def test_indifferent() -> None:
    assert numbers.is_indifferent("随便")
    assert numbers.is_indifferent("都行")
    assert not numbers.is_indifferent("等额本息")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("首套", "first"),
        ("第一套房", "first"),
        ("头一套", "first"),
        ("二套", "second"),
        ("第二套", "second"),
        ("已经有一套了", "second"),
        ("名下没有房", "first"),
        ("第三套", None),
        ("不知道", None),
    ],
)
def test_home(text: str, expected: str | None) -> None:
    assert numbers.parse_home(text) == expected


def test_third_home() -> None:
    assert numbers.is_third_home("这是第三套")
    assert not numbers.is_third_home("第二套")


def test_both_spouses() -> None:
    assert numbers.mentions_both_spouses("我和老婆都交公积金能贷多少")
    assert numbers.mentions_both_spouses("两口子都在缴")
    assert not numbers.mentions_both_spouses("我能贷多少")


@pytest.mark.parametrize("text", ["算了", "不算了", "那算了吧", "取消", "不用了", "先不算了", "退出"])
def test_cancel(text: str) -> None:
    assert numbers.is_cancel(text)


@pytest.mark.parametrize("text", ["30万", "我算了一下大概三十万", "等额本息", "是的"])
def test_not_cancel(text: str) -> None:
    assert not numbers.is_cancel(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("1", 1), ("2", 2), ("选2", 2), ("第二个", 2), ("12", None), ("30万", None)]
)
def test_choice_index(text: str, expected: int | None) -> None:
    assert numbers.choice_index(text) == expected


def test_numbers_in() -> None:
    assert numbers.numbers_in("30万，20年") == [300_000, 20]
    assert numbers.numbers_in("没有数字") == []


@pytest.mark.parametrize("text", ["负五万", "-5万", "−300000", "负 30万"])
def test_negative_amounts_stay_negative_so_forms_refuse_them(text):
    value = numbers.parse_amount(text)
    assert value is not None and value < 0
