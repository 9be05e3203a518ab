"""Is a question ours to answer? Rules from `scope.yml` plus the knowledge base's own vocabulary.

Ranking scores alone cannot tell "保定公积金首付几成" (another city's fund) or "社保断缴了咋补"
(another agency) from our own questions: they match our articles well. These rules decline them
politely, with a reason the reply can name.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from knowledge.tokenize import SYNONYMS_FILE, load_synonyms

SCOPE_FILE = Path(__file__).with_name("scope.yml")


class Verdict(StrEnum):
    IN_SCOPE = "in_scope"
    OTHER_CITY = "other_city"
    OTHER_DOMAIN = "other_domain"
    NO_DOMAIN_WORDS = "no_domain_words"


@dataclass(frozen=True)
class ScopeResult:
    verdict: Verdict
    detail: str = ""  # the other city or the other agency, for the reply


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

    @classmethod
    def load(cls, keywords: set[str], dictionary_dir: Path | None, rules_file: Path = SCOPE_FILE) -> Scope:
        words = set(keywords)
        if dictionary_dir and dictionary_dir.is_dir():
            for path in dictionary_dir.glob("*.txt"):
                words |= {line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
        synonyms = load_synonyms(SYNONYMS_FILE)
        words |= set(synonyms) | set(synonyms.values())
        return cls(words, yaml.safe_load(rules_file.read_text(encoding="utf-8")) or {})

    def names_fund(self, text: str) -> bool:
        """Whether the text names the fund itself (公积金, its common misspellings, the hotline)."""
        return any(w in text for w in self._fund)

    def check(self, text: str) -> ScopeResult:
        names_fund = self.names_fund(text)
        for agency, words in self._other.items():
            if not names_fund and any(w in text for w in words):
                return ScopeResult(Verdict.OTHER_DOMAIN, agency)
        city = next((c for c in self._cities if c in text), None)
        if city and not any(p in text for p in self._local) and not any(w in text for w in self._cross_city):
            return ScopeResult(Verdict.OTHER_CITY, city)
        if not names_fund and not any(w in text for w in self._domain):
            return ScopeResult(Verdict.NO_DOMAIN_WORDS)
        return ScopeResult(Verdict.IN_SCOPE)


def _words(rules: dict, key: str) -> set[str]:
    return {str(w) for w in rules.get(key) or ()}
