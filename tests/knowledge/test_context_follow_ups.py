"""Context that follows the citizen, decided by the answerer on the real articles: a new subject is
answered on its own merits, a follow-up stays on the topic in play (or on the part of the same business
that answers it), and what is not ours is declined whatever the topic was."""
from __future__ import annotations

from knowledge.answer import Answerer, Status


def test_a_new_subject_is_not_answered_with_the_previous_article(knowledge_base):
    answerer = Answerer(knowledge_base, "12329")
    fresh = answerer.answer("我想贷款买房最多能贷多少", topic="withdraw-rent")
    assert fresh.article_id != "withdraw-rent", fresh.text
    assert answerer.answer("明天天气怎么样", topic="loan-rates").status == Status.DECLINE


def test_follow_ups_stay_on_the_business_in_play(knowledge_base):
    answerer = Answerer(knowledge_base, "12329")
    documents = answerer.answer("那要带什么材料", intent="ask_documents", topic="withdraw-rent")
    assert documents.article_id == "withdraw-rent" and "材料" in documents.text
    assert answerer.answer("那在哪办呢", topic="withdraw-rent").article_id == "withdraw-rent"
    # 贷款条件 has no materials section: the same business's article on them answers.
    assert answerer.answer("那要准备什么材料", intent="ask_documents", topic="loan-conditions").article_id == (
        "loan-documents"
    )
