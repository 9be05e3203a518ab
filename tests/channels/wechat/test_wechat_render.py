"""Replies fitted to WeChat: size limit, numbered choices read back from a digit, links, news cards."""
from __future__ import annotations

from channels.wechat.render import TEXT_LIMIT_BYTES, NewsOut, Renderer, TextOut, pick_choice, split_text
from conversations.models import Author, Direction, Message
from conversations.replies import Reply

renderer = Renderer("https://hpf.example.cn/")


def size(text: str) -> int:
    return len(text.encode())


def test_short_reply_is_one_text_with_numbered_choices_links_and_source():
    reply = Reply(
        text="租房提取需要身份证和租房合同。",
        buttons=[{"title": "办理流程", "payload": "租房提取流程"}, {"title": "转人工", "payload": "转人工"}],
        links=[{"title": "在线办理", "url": "https://housefund.hd.gov.cn/wt/withdraw/rent"}, {"title": "表格", "url": "/forms/a"}],
        sources=[{"article_id": "withdraw-rent", "title": "租房提取"}],
    )
    (out,) = renderer.render([reply])
    assert out.content.splitlines() == [
        "租房提取需要身份证和租房合同。",
        '<a href="https://housefund.hd.gov.cn/wt/withdraw/rent">在线办理</a>',
        '<a href="https://hpf.example.cn/forms/a">表格</a>',
        '来源：<a href="https://hpf.example.cn/wechat/articles/withdraw-rent">《租房提取》</a>',
        "回复数字选择：",
        "1. 办理流程",
        "2. 转人工",
    ]


def test_choices_are_numbered_across_the_turns_replies():
    first = Reply("您问的是哪一项？", buttons=[{"title": "提取", "payload": "a"}, {"title": "贷款", "payload": "b"}])
    second = Reply("或者：", buttons=[{"title": "转人工", "payload": "c"}])
    (out,) = renderer.render([first, second])
    assert "1. 提取" in out.content and "2. 贷款" in out.content and "3. 转人工" in out.content


def test_without_public_address_relative_links_are_titles_only():
    (out,) = Renderer("").render([Reply("见表格", links=[{"title": "表格", "url": "/forms/a"}])])
    assert out.content == "见表格\n表格"


def test_long_text_is_split_under_the_limit_at_line_ends_and_keeps_everything():
    paragraphs = [f"第{i}条：" + "公积金提取需要准备的材料和办理流程说明。" * 6 for i in range(40)]
    text = "\n".join(paragraphs)
    outs = renderer.render([Reply(text)])
    assert len(outs) > 1 and all(isinstance(o, TextOut) and size(o.content) <= TEXT_LIMIT_BYTES for o in outs)
    assert "\n".join(o.content for o in outs) == text


def test_one_enormous_line_is_cut_between_characters_never_inside_one():
    line = "长" * 3000 + "。结尾"
    parts = split_text(line)
    assert "".join(parts) == line and all(size(p) <= TEXT_LIMIT_BYTES for p in parts)


def test_long_article_answer_becomes_a_news_card_plus_the_choices():
    reply = Reply(
        text="退休提取：" + "需要的材料和流程。" * 400,
        buttons=[{"title": "转人工", "payload": "转人工"}],
        sources=[{"article_id": "withdraw-retirement", "title": "退休提取"}],
    )
    card, choices = renderer.render([reply])
    assert isinstance(card, NewsOut) and card.title == "退休提取"
    assert card.url == "https://hpf.example.cn/wechat/articles/withdraw-retirement"
    assert choices == TextOut("回复数字选择：\n1. 转人工")


def message(id: int, direction: str, author: str, text: str, payload: dict | None = None) -> Message:
    return Message(id=id, conversation_id="c", channel="wechat", direction=direction, author=author, text=text,
                   payload=payload or {})


def test_a_digit_right_after_choices_picks_that_button():
    buttons_a = [{"title": "提取", "payload": "我想提取"}, {"title": "贷款", "payload": "我想贷款"}]
    buttons_b = [{"title": "转人工", "payload": "转人工"}]
    recent = [
        message(1, Direction.IN, Author.CITIZEN, "公积金"),
        message(2, Direction.OUT, Author.BOT, "哪一项？", {"buttons": buttons_a, "in_reply_to": 1}),
        message(3, Direction.OUT, Author.BOT, "或者", {"buttons": buttons_b, "in_reply_to": 1}),
    ]
    assert pick_choice("2", recent) == (2, buttons_a[1])
    assert pick_choice("３", recent) == (3, buttons_b[0]), "full-width digits count"
    assert pick_choice("4", recent) is None and pick_choice("2套房", recent) is None
    later = [*recent, message(4, Direction.IN, Author.CITIZEN, "算了")]
    assert pick_choice("1", later) is None, "choices go stale once the citizen says something else"


def test_numbered_payloads_keep_their_own_numbers_so_a_rating_of_5_means_5():
    rating = [{"title": f"{n}分", "payload": str(n)} for n in (5, 4, 3, 2, 1)]
    (out,) = renderer.render([Reply("请为服务打分：回复数字1–5（5分为非常满意）。", buttons=rating)])
    assert out.content.endswith("回复数字选择：\n5. 5分\n4. 4分\n3. 3分\n2. 2分\n1. 1分")
    recent = [message(1, Direction.OUT, Author.SYSTEM, "请为服务打分", {"buttons": rating})]
    assert pick_choice("5", recent) == (5, rating[0])
    assert pick_choice("1", recent) == (1, rating[4])
