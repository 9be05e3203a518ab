"""Is a question ours to answer? Rules from `scope.yml` plus the knowledge base's own vocabulary,
and a learned scope model for the questions the rules let through.

Ranking scores alone cannot tell "保定公积金首付几成" (another city's fund) or "社保断缴了咋补"
(another agency) from our own questions: they match our articles well. These rules decline them
politely, with a reason the reply can name.

Word rules cannot list every neighbouring service ("物业费一年多少钱一平" shares 物业, 一年, 多少
with our articles). The scope model learns the boundary from examples: our articles' titles,
summaries and typical phrasings against `scope_negatives.yml`, questions citizens put to a fund
bot that belong to somebody else (the centre adds to it from the unanswered-questions report).
It is consulted only for questions that do not name the fund.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from knowledge.articles import Article
from knowledge.encoders import Encoder
from knowledge.ranker import TextClassifier
from knowledge.tokenize import SYNONYMS_FILE, load_synonyms

SCOPE_FILE = Path(__file__).with_name("scope.yml")
NEGATIVES_FILE = Path(__file__).with_name("scope_negatives.yml")
# The bot's own out_of_scope training examples are more of the same; read where they are kept.
BOT_NLU_FILE = Path(__file__).resolve().parent.parent / "bot" / "data" / "nlu.yml"
NEGATIVE_SOURCES = (NEGATIVES_FILE, BOT_NLU_FILE)
SCOPE_MODEL = "scope"


class InputMissing(ValueError):
    """A file the index is built from is not there. An error, not a skip: an image that left out the
    bot's examples would otherwise build a different scope model from `make run`'s, and nobody would know."""


def negative_sources(bot_examples: bool = True) -> tuple[Path, ...]:
    """Where the scope model's not-ours examples come from: the scope file, and unless switched off
    (KNOWLEDGE_SCOPE_BOT_EXAMPLES=false) the bot's out_of_scope intent."""
    return NEGATIVE_SOURCES if bot_examples else (NEGATIVES_FILE,)


def require_inputs(paths: tuple[Path, ...]) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if not missing:
        return
    hint = (" (the bot's out_of_scope examples: copy bot/data/nlu.yml, or set KNOWLEDGE_SCOPE_BOT_EXAMPLES=false)"
            if any(Path(m).name == BOT_NLU_FILE.name for m in missing) else "")
    raise InputMissing(f"the knowledge index is built from files that are missing: {', '.join(missing)}{hint}")


class Verdict(StrEnum):
    IN_SCOPE = "in_scope"
    OTHER_CITY = "other_city"
    OTHER_DOMAIN = "other_domain"
    NO_DOMAIN_WORDS = "no_domain_words"


@dataclass(frozen=True)
class ScopeResult:
    verdict: Verdict
    detail: str = ""  # the other city or the other agency, for the reply
    names_fund: bool = False  # the question names the fund itself: ours unless another city's


class Scope:
    def __init__(self, domain_words: set[str], rules: dict) -> None:
        # Single characters (取, 交, 贷) occur in too many unrelated words to prove anything.
        self._local = tuple(_words(rules, "local_places") | {str(rules.get("local_city", "")).strip()} - {""})
        # Place names say where, not what: "邯郸下礼拜会不会下暴雨" is no fund question.
        candidates = domain_words | _words(rules, "domain_words")
        self._domain = {w for w in candidates if len(w) >= 2 and not any(p in w for p in self._local)}
        self._fund = tuple(_words(rules, "fund_words"))
        self._cities = tuple(_words(rules, "other_cities"))
        self._cross_city = tuple(_words(rules, "cross_city_words"))
        self._other = {name: tuple(map(str, words)) for name, words in (rules.get("other_domains") or {}).items()}
        self._bank_products = tuple(_words(rules, "bank_products"))
        self._banks = tuple(_words(rules, "banks"))
        self._ours_with_banks = tuple(_words(rules, "ours_with_banks"))

    @classmethod
    def load(cls, keywords: set[str], dictionary_dir: Path | None, rules_file: Path = SCOPE_FILE) -> Scope:
        words = set(keywords)
        if dictionary_dir and dictionary_dir.is_dir():
            for path in dictionary_dir.glob("*.txt"):
                words |= {line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
        synonyms = load_synonyms(SYNONYMS_FILE)
        words |= set(synonyms) | set(synonyms.values())
        return cls(words, _read_yaml(rules_file))

    def names_fund(self, text: str) -> bool:
        """Whether the text names the fund itself (公积金, its common misspellings, the hotline)."""
        return any(w in text for w in self._fund)

    def _banks_own(self, text: str, names_fund: bool) -> bool:
        return (not names_fund and any(w in text for w in self._banks)
                and not any(w in text for w in self._ours_with_banks))

    def check(self, text: str) -> ScopeResult:
        names_fund = self.names_fund(text)
        if any(w in text for w in self._bank_products) or self._banks_own(text, names_fund):
            return ScopeResult(Verdict.OTHER_DOMAIN, "商业银行")
        for agency, words in self._other.items():
            if not names_fund and any(w in text for w in words):
                return ScopeResult(Verdict.OTHER_DOMAIN, agency)
        cities = sorted((c for c in self._cities if c in text), key=text.find)  # as named, first first
        local = any(p in text for p in self._local)
        # Moving between two other cities ("上海的转到北京") is theirs even though it is a transfer.
        crossing = any(w in text for w in self._cross_city) and len(cities) < 2
        if cities and not local and not crossing:
            return ScopeResult(Verdict.OTHER_CITY, cities[0])
        if not names_fund and not any(w in text for w in self._domain):
            return ScopeResult(Verdict.NO_DOMAIN_WORDS)
        return ScopeResult(Verdict.IN_SCOPE, names_fund=names_fund)


def _read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _without(text: str, words: list[str]) -> str:
    for word in words:
        text = text.replace(word, "")
    return text


def _words(rules: dict, key: str) -> set[str]:
    return {str(w) for w in rules.get(key) or ()}


def load_negatives(paths: tuple[Path, ...] = NEGATIVE_SOURCES) -> list[str]:
    """The not-ours example questions of every kind, from `scope_negatives.yml` (`examples:` by kind)
    and from Rasa training data (the `out_of_scope` intent's examples), each once."""
    require_inputs(paths)
    found: dict[str, None] = {}
    for path in paths:
        data = _read_yaml(path)
        for questions in (data.get("examples") or {}).values():
            found |= dict.fromkeys(str(q).strip() for q in questions or ())
        for block in data.get("nlu") or ():
            if block.get("intent") == "out_of_scope":
                found |= dict.fromkeys(line.strip()[2:].strip() for line in block.get("examples", "").splitlines())
    found.pop("", None)
    return list(found)


def train_scope_model(articles: list[Article], encoder: Encoder, negatives: list[str]) -> TextClassifier | None:
    """Labels "ours" and "not_ours". The articles' citizen-facing texts are the positives; their
    policy sections are left out, as no citizen writes like them and they would teach "long means ours"."""
    # The model only ever sees questions that do not name the fund, so it learns from positives
    # without the fund's name: otherwise "names 公积金" is all it would learn to tell them apart.
    fund = sorted(_words(_read_yaml(SCOPE_FILE), "fund_words"), key=len, reverse=True)
    positives = [_without(t, fund) for a in articles for t in (a.title, a.summary, *a.questions)]
    positives = [t for t in positives if t.strip()]
    if not positives or not negatives:
        return None
    texts = positives + negatives
    labels = [0] * len(positives) + [1] * len(negatives)
    return TextClassifier.fit(texts, labels, ["ours", "not_ours"], encoder, char_c=10, dense_c=10, balanced=True)
