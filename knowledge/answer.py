"""Turning a citizen's question into an honest answer: one sourced article, a clarifying
question when two articles are close, or an admission that the knowledge base has no answer.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Protocol

from core.staff_marks import for_citizens, has_marks
from knowledge.index import LoadedIndex
from knowledge.scope import Scope, ScopeResult, Verdict
from knowledge.search import Hit, Weights

# Thresholds, calibrated on the dev halves of bench/data/questions.yml and of the real wording in
# bench/data/real_questions.tsv together (bench/real_wording.py --calibrate; the test halves are reported).
# Real wording is vaguer than ours: a right first article often has a probability of 0.05-0.15 among 60,
# so the bar for "nothing reliable" went down from 0.10 and the bar for answering outright went up.
MIN_CONFIDENCE = 0.04   # the learned rankers' probability below which nothing is presented
CLOSE_SCORE = 0.85      # a runner-up with this share of the top fused score is a real alternative
CLOSE_CONFIDENCE = 1.0  # … or a probability at least the top article's (the fused score ranks them otherwise)
# Below this probability a first article that stands out is still offered as a choice among the nearest
# two or three rather than answered outright: a wrong answer said with confidence costs more than a click.
ANSWER_CONFIDENCE = 0.15
# When every ranking signal (BM25, vectors, both learned rankers) puts the same article first, it is
# answered even with a close runner-up or a low probability: on the dev halves such a first article was
# right 29 times in 30 on real wording and 162 in 164 on our own set. This many signals may disagree.
DISSENT_ALLOWED = 0
SUGGESTIONS = 3         # nearest topics offered with "no reliable answer" ("您是不是想问…")
EXPLAIN_TOP = 3         # candidates listed in an answer's explanation
PERSON_BUTTON = {"title": "转人工客服", "payload": "转人工"}
INTENT_PRIOR = 0.10     # added to articles in the category of the bot's intent, times its confidence
# The scope model's probability of "not ours" from which a question that never names the fund is
# declined (knowledge/scope.py says what the model learns from), and the lower one that suffices
# when other evidence agrees: no domain word at all, or the bot reads the question as out_of_scope.
# The dev split gave the same figures for 0.70-0.80 (and for any out_of_scope confidence from 0.5
# to 0.9): the middle of that plateau, and the simplest rule.
NOT_OURS = 0.75
NOT_OURS_WITH_RULE = 0.40
INTENT_CATEGORIES = {
    "ask_withdrawal": {"提取"},
    "ask_deposit": {"缴存"},
    "ask_account": {"账户"},
    "ask_loan": {"贷款"},
    "estimate_loan_amount": {"贷款"},
    "calc_repayment": {"贷款"},
    "ask_service": {"服务", "政策"},
    "query_progress": {"服务"},
}
# Follow-up intents and the article sections that answer them, in order of preference.
FOLLOW_UPS = {
    "ask_documents": ("所需材料", "材料", "要件"),
    "ask_processing_time": ("办理时限", "到账", "时限", "时间"),
}
# Words every follow-up uses whatever the topic; what is left after removing them names a topic.
_FOLLOW_UP_WORDS = re.compile(
    "那么|那|还|要|需要|得|带|准备|提供|交|啥|什么|哪些|材料|资料|证件|手续|要件|东西|多久|多长时间|几天|"
    "时间|到账|上卡|能|办|好|下来|完|呢|吗|啊|呀|的|了|一年|几次|多少|取|可以|我|您|请问|在哪|哪里|哪儿|去哪|"
    "[？?。，,！!\\s]"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# What may surround a business's name in a question that names nothing else ("公积金提取？", "我想贷款").
_BARE_WORDS = re.compile("住房公积金|公积金|我想|我要|想|要|请问|咨询|办理|一下|的|呢|吗|啊|[？?。，,！!\\s]")
# How a question that names nothing leans on the topic in play: "那…", "还…", "…呢".
_LEANS_ON_TOPIC = re.compile(r"^\s*(?:那|还|这个|这样|那个|如果)|呢\s*[？?。！!]*\s*$")
FOLLOW_UP_BUTTONS = (("需要什么材料", "要带什么材料？"), ("多久能办好", "多久能办好？"))


class Rule(StrEnum):
    """What decided an answer, for the explanation, the console and the unanswered report."""

    FOLLOW_UP = "follow_up"              # leans on the article in play
    OTHER_CITY = "other_city"            # scope.yml: another city's fund
    OTHER_DOMAIN = "other_domain"        # scope.yml: another agency's business
    SCOPE_MODEL = "scope_model"          # the learned scope model: not ours
    LOW_CONFIDENCE = "low_confidence"    # even the best article is unlikely: nothing reliable
    CLOSE_RUNNER_UP = "close_runner_up"  # two or three articles are close: ask which
    UNSURE_TOP = "unsure_top"            # the first stands out but is not likely enough: ask among the nearest
    SIGNALS_AGREE = "signals_agree"      # every ranking signal puts the same article first
    BROAD = "broad"                      # a business named and nothing else ("提取"): ask which part
    CLEAR_TOP = "clear_top"              # the first article stands out


class Status(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    NONE = "none"        # ours to answer, but the knowledge base has nothing reliable
    DECLINE = "decline"  # not ours: another city, another agency, chit-chat


@dataclass
class Answer:
    status: Status
    text: str
    article_id: str | None = None
    buttons: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    # Why: the decision, the rule that made it, the top candidates' scores and the thresholds.
    explain: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


class Searchable(Protocol):
    """What the answerer reads: the knowledge base, or a SearchObserver in front of it."""

    @property
    def index(self) -> LoadedIndex: ...

    @property
    def scope(self) -> Scope: ...

    def article(self, article_id: str) -> dict | None: ...

    def not_ours(self, question: str) -> float | None: ...

    def search(
        self, query: str, k: int = 5, weights: Weights | None = None, boost: dict[str, float] | None = None
    ) -> list[Hit]: ...

    def best_section(self, article_id: str, query: str) -> Hit | None: ...


class Answerer:
    def __init__(self, kb: Searchable, hotline: str) -> None:
        self._kb = kb
        self._hotline = hotline

    def answer(
        self, question: str, intent: str | None = None, topic: str | None = None, intent_confidence: float = 0.0
    ) -> Answer:
        sections = FOLLOW_UPS.get(intent or "")
        if topic and self._kb.article(topic) and self._is_follow_up(question, topic):
            # "那要带什么材料？", "多久到账？", "一年能取几次？" after an answer about 租房提取.
            topic = self._with_section(topic, sections, question)
            matched = None if sections else self._kb.best_section(topic, question)
            return _explained(self._from_article(topic, sections, matched=matched), Rule.FOLLOW_UP, [])
        scope = self._kb.scope.check(question)
        if scope.verdict in (Verdict.OTHER_CITY, Verdict.OTHER_DOMAIN):
            return _explained(self._decline(scope), Rule(scope.verdict.value), [])
        not_ours = None if scope.names_fund else self._kb.not_ours(question)
        if self._not_ours(scope, intent, not_ours):
            return _explained(self._decline(scope), Rule.SCOPE_MODEL, [], not_ours=not_ours)
        hits = self._kb.search(question, k=5, boost=self._prior(intent, intent_confidence))
        decided = self._decide(question, hits, sections)
        return _explained(decided[0], decided[1], hits, not_ours=not_ours)

    def _decide(self, question: str, hits: list[Hit], sections: tuple[str, ...] | None) -> tuple[Answer, Rule]:
        """Answer the first article when it stands out, ask between two or three close ones, and say
        honestly that nothing fits when even the best is unlikely, offering the nearest topics."""
        if not hits or hits[0].confidence < MIN_CONFIDENCE:
            return self._none(hits), Rule.LOW_CONFIDENCE
        top = hits[0]
        if self._names_a_business_only(question) and len(hits) > 1:
            return self._clarify(hits[:3]), Rule.BROAD
        if top.signals >= 3 and top.agreement >= top.signals - DISSENT_ALLOWED:
            return self._from_article(top.article_id, sections, matched=top), Rule.SIGNALS_AGREE
        close = [
            h for h in hits[1:3]
            if h.score >= top.score * CLOSE_SCORE or h.confidence >= top.confidence * CLOSE_CONFIDENCE
        ]
        if close:
            return self._clarify([top, *close]), Rule.CLOSE_RUNNER_UP
        if top.confidence < ANSWER_CONFIDENCE and len(hits) > 1:
            return self._clarify(hits[:3]), Rule.UNSURE_TOP
        return self._from_article(top.article_id, sections, matched=top), Rule.CLEAR_TOP

    def _names_a_business_only(self, question: str) -> bool:
        """"提取", "公积金贷款": a whole business named with nothing to pick one of its articles, which
        the ranking would otherwise answer with whichever article says the word most."""
        bare = _BARE_WORDS.sub("", question)
        return bool(bare) and bare in {record["category"] for record in self._kb.index.articles.values()}

    def _not_ours(self, scope: ScopeResult, intent: str | None, not_ours: float | None) -> bool:
        """Is a question somebody else's? Naming the fund keeps it ours; otherwise the scope model
        decides, and the word rule and the bot's reading only lower the bar: colloquial questions of
        ours may have no domain word ("隔多久能再拿一回"), and the bot reads some of ours as out of scope."""
        if scope.names_fund:
            return False
        rule = scope.verdict == Verdict.NO_DOMAIN_WORDS or intent == "out_of_scope"
        if not_ours is None:  # no scope model (no negative examples): the rules alone decide
            return rule
        return not_ours >= NOT_OURS or (rule and not_ours >= NOT_OURS_WITH_RULE)

    def _prior(self, intent: str | None, confidence: float) -> dict[str, float]:
        categories = INTENT_CATEGORIES.get(intent or "", set())
        return {
            article_id: INTENT_PRIOR * confidence
            for article_id, record in self._kb.index.articles.items()
            if record["category"] in categories
        }

    def _with_section(self, topic: str, sections: tuple[str, ...] | None, question: str) -> str:
        """The article that answers a follow-up: the topic's own, or, when the topic has no such section
        ("那要准备什么材料" after 贷款条件), the article on that part of the same business."""
        article = self._kb.article(topic)
        if not sections or article is None or self._section_text(article, sections) is not None:
            return topic
        hits = self._kb.search(f"{article['title']} {question}", k=3)
        for hit in hits:
            other = self._kb.article(hit.article_id)
            if hit.confidence >= MIN_CONFIDENCE and other and self._section_text(other, sections) is not None:
                return hit.article_id
        return topic

    def _is_follow_up(self, question: str, topic: str) -> bool:
        """Whether the question leans on the topic in play ("那要带什么材料") rather than naming a
        business of its own ("那贷款要带什么材料")."""
        remainder = _FOLLOW_UP_WORDS.sub("", question)
        if len(_CJK.findall(remainder)) < 2:
            return True
        hits = self._kb.search(remainder, k=1)
        if hits and hits[0].article_id == topic:
            return True
        if hits and hits[0].confidence >= MIN_CONFIDENCE:
            return False  # names another business of ours ("我想贷款买房最多能贷多少" after 租房提取)
        # Names nothing we know: a follow-up only when it leans on what came before ("那在哪办呢");
        # "明天天气怎么样" is a new question, for the scope check to decide on its own merits.
        if _LEANS_ON_TOPIC.search(question):
            return self._kb.scope.check(question).verdict not in (Verdict.OTHER_CITY, Verdict.OTHER_DOMAIN)
        whole = self._kb.search(question, k=1)
        if whole and whole[0].confidence >= MIN_CONFIDENCE:
            return whole[0].article_id == topic
        # Nothing named either way ("需要本人去吗"): ours unless the scope model says it is not.
        not_ours = self._kb.not_ours(question)
        return not_ours is not None and not_ours < NOT_OURS_WITH_RULE

    def _from_article(self, article_id: str, sections: tuple[str, ...] | None, matched: Hit | None = None) -> Answer:
        article = self._kb.article(article_id)
        assert article is not None
        body = self._section_text(article, sections) if sections else None
        if body is None and matched is not None and matched.heading:
            body = self._section_text(article, (matched.heading,))
        parts = [article["summary"]] + ([body] if body and body != article["summary"] else [])
        # The date the policy took effect, and the source without the staff's marks ("待中心确认"),
        # which agents and the knowledge admin still see in the article itself.
        parts.append(f"（政策施行日期：{article['effective_date']}；依据：{article['source']}）")
        parts = [for_citizens(part) for part in parts]
        link = article.get("business_link")
        # The source as written, marks and all, for the agents beside the bot's turn (never the citizen's).
        note = {"staff_note": article["source"]} if has_marks(article["source"]) else {}
        return Answer(
            explain=note,
            status=Status.ANSWER,
            text="\n\n".join(parts),
            article_id=article_id,
            buttons=[{"title": title, "payload": payload} for title, payload in FOLLOW_UP_BUTTONS],
            links=[link] if link else [],
            sources=[{"article_id": article_id, "title": article["title"]}],
        )

    @staticmethod
    def _section_text(article: dict, names: tuple[str, ...]) -> str | None:
        for name in names:
            for section in article["sections"]:
                if name in section["heading"]:
                    return f"【{section['heading']}】\n{section['text']}"
        return None

    def _clarify(self, hits: list[Hit]) -> Answer:
        titles = "，还是".join(h.title for h in hits)
        return Answer(
            status=Status.CLARIFY,
            text=f"您想了解{titles}？请选择一项：",
            buttons=[{"title": h.title, "payload": h.title} for h in hits],
        )

    def _decline(self, scope: ScopeResult) -> Answer:
        if scope.verdict == Verdict.OTHER_CITY:
            text = (
                f"我是本市住房公积金管理中心的智能客服，只能解答本市的公积金业务。{scope.detail}的公积金政策"
                f"请咨询当地公积金中心，或在当地拨打 {self._hotline}。如果您是要把{scope.detail}的公积金转到本市，"
                "或在外地买房用本市公积金贷款，可以直接问我。"
            )
        elif scope.verdict == Verdict.OTHER_DOMAIN:
            text = f"您问的是{scope.detail}方面的事，不属于住房公积金业务，建议咨询相关部门。"
        else:
            text = "抱歉，这个问题超出了我的服务范围。"
        return Answer(
            status=Status.DECLINE,
            text=text + "我可以帮您解答公积金提取、缴存、贷款、转移接续和办理进度等问题。",
            buttons=[{"title": t, "payload": t} for t in ("公积金怎么提取", "能贷多少款", "办理进度查询")],
        )

    def _none(self, hits: list[Hit]) -> Answer:
        """No reliable answer, yet never a dead end: the nearest topics, the hotline and a person (the
        handoff takes a callback request when nobody is on duty). The text names the topics too, so a
        voice caller hears them."""
        nearest = hits[:SUGGESTIONS]
        guess = f"您是不是想问：{'；'.join(h.title for h in nearest)}？请点选，" if nearest else "您可以换个说法再问，"
        return Answer(
            status=Status.NONE,
            text=(
                f"抱歉，这个问题我在知识库里没有找到可靠的答案，不想给您错误的信息。{guess}"
                f"也可以拨打住房公积金服务热线 {self._hotline}，或转人工客服"
                "（暂时无人值班时可以留下问题，由工作人员回电）。"
            ),
            buttons=[{"title": h.title, "payload": h.title} for h in nearest] + [dict(PERSON_BUTTON)],
        )


def _explained(answer: Answer, rule: Rule, hits: list[Hit], not_ours: float | None = None) -> Answer:
    """The answer with the reasons for it: what decided, on which candidates, against which thresholds."""
    note = {"staff_note": answer.explain["staff_note"]} if "staff_note" in answer.explain else {}
    answer.explain = {
        **note,
        "decision": answer.status.value,
        "rule": rule.value,
        "top": [
            {"article": h.article_id, "title": h.title, "score": h.score, "confidence": h.confidence,
             "agreement": h.agreement, "signals": h.signals}
            for h in hits[:EXPLAIN_TOP]
        ],
        "not_ours": None if not_ours is None else round(not_ours, 4),
        "thresholds": {
            "min_confidence": MIN_CONFIDENCE, "answer_confidence": ANSWER_CONFIDENCE, "close_score": CLOSE_SCORE,
            "close_confidence": CLOSE_CONFIDENCE, "not_ours": NOT_OURS, "not_ours_with_rule": NOT_OURS_WITH_RULE,
            "dissent_allowed": DISSENT_ALLOWED,
        },
    }
    return answer
