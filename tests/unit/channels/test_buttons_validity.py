"""Which buttons are still the choices in play, and what a spent choice replayed gets (no database)."""
from __future__ import annotations

from conversations.buttons import is_choice, stale_reply, validity, with_validity
from conversations.models import Message

YES_NO = [{"title": "是", "payload": "是"}, {"title": "否", "payload": "否"}]
HOME = [{"title": "首套房", "payload": "首套"}, {"title": "第二套房", "payload": "二套"}]
RATING = [{"title": f"{n}分", "payload": f"{n}分"} for n in range(5, 0, -1)]


def bot(id_: int, text: str, buttons: list[dict] | None = None) -> Message:
    return Message(id=id_, author="bot", direction="out", text=text, payload={"buttons": buttons or []})


def citizen(id_: int, text: str) -> Message:
    return Message(id=id_, author="citizen", direction="in", text=text, payload={})


def test_newest_buttons_are_valid_until_one_is_chosen_or_newer_ones_arrive():
    messages = [bot(1, "首套还是二套？", HOME), citizen(2, "首套"), bot(3, "夫妻都在缴吗？", YES_NO)]
    assert validity(messages) == {1: False, 3: True}
    assert validity([bot(1, "a", HOME), bot(2, "b", YES_NO)]) == {1: False, 2: True}
    assert validity([bot(1, "a", HOME), citizen(2, "公积金怎么提取")]) == {1: True}  # not a choice of it


def test_the_payload_shows_validity_only_on_messages_with_buttons():
    assert with_validity({"id": 1, "payload": {"buttons": HOME}}, {1: False})["payload"]["buttons_valid"] is False
    assert "buttons_valid" not in with_validity({"id": 2, "payload": {}}, {1: False})["payload"]


def test_a_spent_rating_replayed_is_told_it_expired():
    before = [bot(1, "请打分", RATING), citizen(2, "5分"), bot(3, "感谢您的评价")]
    reply = stale_reply("1分", before)
    assert reply is not None and "这个选项已过期" in reply.text and reply.buttons == []


def test_a_superseded_choice_gets_the_current_choices():
    reply = stale_reply("二套", [bot(1, "首套还是二套？", HOME), citizen(2, "首套"), bot(3, "夫妻都在缴吗？", YES_NO)])
    assert reply is not None and reply.buttons == YES_NO


def test_choices_in_play_requests_and_clarifying_titles_are_left_to_the_bot():
    assert stale_reply("首套", [bot(1, "首套还是二套？", HOME)]) is None
    assert stale_reply("我没见过的话", [bot(1, "a", HOME), citizen(2, "首套")]) is None
    clarify = bot(1, "您想了解租房提取，还是退休提取？请选择一项：",
                  [{"title": "租房提取", "payload": "租房提取"}, {"title": "退休提取", "payload": "退休提取"}])
    assert stale_reply("退休提取", [clarify, citizen(2, "租房提取"), bot(3, "答案")]) is None
    assert not is_choice("转人工") and not is_choice("帮我算一下月供") and not is_choice("公积金怎么提取？")
    assert is_choice("首套") and is_choice("1分") and is_choice("继续计算")
