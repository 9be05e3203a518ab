"""Chinese tokenisation for lexical search: jieba words (with the domain dictionary shared with
the bot), canonical synonyms, and character bigrams, which keep typos and homophones
("公积经", "题取") from losing the whole match."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jieba
import yaml

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
STOPWORDS = frozenset(
    "的 了 吗 呢 吧 啊 呀 哦 嘛 么 是 我 你 您 他 她 们 这 那 个 就 都 也 还 要 想 能 会 可以 一下 请问 "
    "问 一 在 和 与 及 或 有 没 不 得 地 着 给 让 把 被 对 从 到 为 很 怎么 怎样 如何 什么 啥 咋 多少 几".split()
)
SYNONYMS_FILE = Path(__file__).with_name("synonyms.yml")


class Tokenizer:
    def __init__(self, dictionary_dir: Path | None, synonyms_file: Path = SYNONYMS_FILE) -> None:
        self.dictionary_dir = dictionary_dir
        self._jieba = jieba.Tokenizer()
        if dictionary_dir and dictionary_dir.is_dir():
            for path in sorted(dictionary_dir.glob("*.txt")):
                self._jieba.load_userdict(str(path))
        self._canonical = load_synonyms(synonyms_file)
        for word in self._canonical:
            self._jieba.add_word(word)

    def words(self, text: str) -> list[str]:
        tokens = []
        for token in self._jieba.lcut(text.lower()):
            token = token.strip()
            if not token or token in STOPWORDS or not _WORD.search(token):
                continue
            tokens.append(self._canonical.get(token, token))
        return tokens

    def tokens(self, text: str) -> list[str]:
        """Words plus `§`-prefixed character bigrams of every Chinese run."""
        bigrams = [f"§{run[i:i + 2]}" for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
        return self.words(text) + bigrams


def load_synonyms(path: Path) -> dict[str, str]:
    """`canonical: [variant, …]` in the file → {variant: canonical}."""
    if not path.exists():
        return {}
    groups = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {variant: canonical for canonical, variants in groups.items() for variant in variants}


@lru_cache(maxsize=4)
def shared_tokenizer(dictionary_dir: Path | None) -> Tokenizer:
    return Tokenizer(dictionary_dir)
