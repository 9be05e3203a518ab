"""Which messages inside a form are questions of their own (answered, then the form offers to resume) and
which are answers or questions about the form's own question (the form asks again)."""
from __future__ import annotations

import pytest

from bot.actions.asides import asks_about_the_question, is_resume, reads_as_question


@pytest.mark.parametrize("text", ["明天天气怎么样", "今天限号吗", "红烧肉怎么做好吃", "昨晚的足球比赛谁赢了"])
def test_questions_of_their_own(text):
    assert reads_as_question(text)


@pytest.mark.parametrize("text", ["啥意思", "为什么要问这个", "不知道", "三十来个", "20年吧", "嗯"])
def test_answers_and_questions_about_the_form(text):
    assert not reads_as_question(text)


def test_a_question_about_the_forms_question_is_asked_again_whatever_the_intent():
    assert asks_about_the_question("啥意思") and asks_about_the_question("为什么要问这个")
    assert not asks_about_the_question("明天天气怎么样")


@pytest.mark.parametrize(("text", "resume"), [("继续计算", True), ("好的继续", True), ("接着算", True),
                                              ("不算了", False), ("30万", False)])
def test_resume(text, resume):
    assert is_resume(text) is resume
