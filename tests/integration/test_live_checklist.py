"""The eligibility check through the app API with the real trained Rasa, action server and service."""
from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.rasa


def new_user() -> str:
    return f"check-{uuid.uuid4().hex[:12]}"


def text_of(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies)


def buttons_of(replies: list[dict]) -> list[dict]:
    return [b for r in replies for b in r["buttons"]]


def test_rent_check_after_an_answer_walks_to_the_documents(ask):
    user = new_user()
    answer = ask("租房提取公积金需要满足啥条件", user)
    assert any(s["article_id"] == "withdraw-rent" for r in answer for s in r["sources"])
    offer = [b for b in buttons_of(answer) if b["title"] == "看看我符不符合条件"]
    assert offer and "租房提取" in offer[0]["payload"]

    first = ask("那我能办吗", user)  # the check in play comes from the topic of the answer
    assert "租房提取" in text_of(first) and "住房" in text_of(first), text_of(first)
    assert {b["title"] for b in buttons_of(first)} == {"是", "否"}

    assert "多少个月" in text_of(ask("没有", user))
    assert "租房提取吗" in text_of(ask("交了一年了", user))
    mode = ask("否", user)
    quota = next(b for b in buttons_of(mode) if b["title"].startswith("按额度"))
    assert "月工资收入" in text_of(ask(quota["payload"], user))
    assert "配偶" in text_of(ask("是", user))
    assert "银行借记卡" in text_of(ask("是", user))
    outcome = ask("是", user)
    text = text_of(outcome)
    assert "看起来符合租房提取的条件" in text, text
    assert "配偶的身份证" in text and "本人身份证" in text and "租赁合同原件" not in text
    assert any(link["url"].endswith("/withdraw/rent") for r in outcome for link in r["links"])

    # After the check, follow-ups stay on rent withdrawal.
    follow_up = ask("那多久能到账", user)
    assert any(s["article_id"] == "withdraw-rent" for r in follow_up for s in r["sources"]), text_of(follow_up)


def test_a_citizen_with_a_home_is_told_why_and_an_unreadable_reply_is_asked_again(ask):
    user = new_user()
    first = ask("帮我看看我能不能租房提取", user)
    assert "住房" in text_of(first)
    again = ask("啥意思", user)
    # Whatever the bot makes of it, the same question comes back last, with its buttons.
    assert "住房" in again[-1]["text"] and {b["title"] for b in again[-1]["buttons"]} == {"是", "否"}
    outcome = text_of(ask("有一套", user))
    assert "暂时不符合租房提取的条件" in outcome and "有住房" in outcome, outcome


def test_the_check_can_be_cancelled(ask):
    user = new_user()
    first = ask("我够条件申请公积金贷款吗", user)
    assert "贷款" in text_of(first) and buttons_of(first)
    assert "先不查了" in text_of(ask("算了", user))
    # The bot is back to normal service afterwards.
    assert any(s["article_id"] == "loan-rates" for r in ask("公积金贷款利率是多少", user) for s in r["sources"])
