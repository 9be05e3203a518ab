"""Answers show an article's policy date and source without the staff's marks, which the article itself
(what agents and the knowledge admin read) keeps."""
from __future__ import annotations

from core.staff_marks import has_marks
from knowledge.answer import Answerer, Status


def test_answer_hides_staff_marks_the_article_keeps(knowledge_base):
    article = knowledge_base.article("withdraw-rent")
    assert has_marks(article["source"])
    answer = Answerer(knowledge_base, "12329").answer("租房子住能把公积金取出来吗")
    assert answer.status == Status.ANSWER and answer.article_id == "withdraw-rent", answer.text
    assert f"政策施行日期：{article['effective_date']}" in answer.text
    assert not has_marks(answer.text) and "信息日期" not in answer.text
    # Agents see the source as written beside the bot's turn (the explanation the console shows).
    assert answer.explain["staff_note"] == article["source"] and answer.explain["decision"] == "answer"
