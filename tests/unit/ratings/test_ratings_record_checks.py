"""What a rating may carry, checked before anything is stored: the level, the reasons, the comment; and
how a citizen's words in a conversation are read as a level or as closing thanks."""
from __future__ import annotations

import pytest

from core.errors import ApiError
from ratings.conversation import LEVEL_BUTTONS, REASON_BUTTONS, is_closing
from ratings.conversation import parse_level as read_answer
from ratings.levels import Level
from ratings.reasons import REASONS
from ratings.record import COMMENT_MAX, clean_comment, clean_reasons, parse_level


@pytest.mark.parametrize(("given", "level"), [(5, Level.VERY_SATISFIED), (1, Level.VERY_DISSATISFIED), ("3", Level.BASIC),
                                              ("４", Level.SATISFIED), (" 2 ", Level.DISSATISFIED)])
def test_levels_one_to_five_as_numbers_or_digits(given, level):
    assert parse_level(given) == level


@pytest.mark.parametrize("given", [0, 6, -1, "0", "6", "abc", "", "55", "5.0", 5.0, True, None, [5]])
def test_anything_else_is_rating_level_invalid_in_chinese(given):
    with pytest.raises(ApiError) as refused:
        parse_level(given)
    assert (refused.value.status, refused.value.code) == (422, "rating_level_invalid")
    assert "1 到 5" in refused.value.message


def test_reasons_only_from_the_list_each_once_in_its_order():
    assert clean_reasons(["其他", "答非所问", "答非所问"]) == ["答非所问", "其他"]
    assert clean_reasons(None) == []
    for wrong in (["<b>差</b>"], ["答非所问", "随便"], [1]):
        with pytest.raises(ApiError) as refused:
            clean_reasons(wrong)
        assert refused.value.code == "rating_reason_invalid"


def test_a_comment_is_plain_text_up_to_the_limit():
    assert clean_comment("  <script>alert(1)</script>太慢\n了 ") == "<script>alert(1)</script>太慢\n了"
    assert clean_comment("a\x00b\x1bc") == "abc", "control characters dropped, the words kept"
    assert clean_comment("   ") is None and clean_comment(None) is None
    assert clean_comment("长" * COMMENT_MAX) == "长" * COMMENT_MAX
    with pytest.raises(ApiError) as refused:
        clean_comment("长" * (COMMENT_MAX + 1))
    assert (refused.value.status, refused.value.code) == (422, "rating_comment_too_long")


@pytest.mark.parametrize(("text", "level"), [("5", 5), ("５", 5), ("1分", 1), ("3星", 3), ("非常满意", 5), ("满意！", 4),
                                             ("非常不满意", 1), ("不满意。", 2), ("基本满意", 3)])
def test_a_conversation_answer_is_a_digit_or_the_levels_words(text, level):
    assert read_answer(text) == level


@pytest.mark.parametrize("text", ["0", "6", "12", "我很满意你们的服务", "5万", "满意吗", ""])
def test_other_words_are_no_answer(text):
    assert read_answer(text) is None


def test_buttons_name_their_level_best_first_and_the_payload_is_its_digit():
    assert [(b["title"], b["payload"]) for b in LEVEL_BUTTONS] == [
        ("非常满意", "5"), ("满意", "4"), ("基本满意", "3"), ("不满意", "2"), ("非常不满意", "1")]
    assert [b["title"] for b in REASON_BUTTONS] == [*REASONS, "跳过"]


@pytest.mark.parametrize(("text", "closing"), [("谢谢", True), ("好的，谢谢！", True), ("Thanks!", True), ("再见~", True),
                                               ("谢谢，那贷款怎么办", False), ("我要投诉", False)])
def test_thanks_and_goodbye_as_the_whole_message_close_the_bots_service(text, closing):
    assert is_closing(text) is closing
