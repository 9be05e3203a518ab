"""Hybrid search: dense vectors (FAISS) fused with BM25 over jieba tokens, ranked per article.

The live index is swapped by reference when `CURRENT` names a new build, so searches running
during a reload finish on the index they started with.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knowledge.encoders import Encoder
from knowledge.index import LoadedIndex, current_build, load_index
from knowledge.scope import Scope
from knowledge.tokenize import Tokenizer

log = logging.getLogger(__name__)
DENSE_CANDIDATES = 64
RELOAD_CHECK_S = 1.0


@dataclass(frozen=True)
class Weights:
    """How much each signal counts in the fused ranking, tuned on the dev halves of our own set
    (bench/data/questions.yml) and of real wording (bench/data/real_questions.tsv) together; the
    retrieval benchmark also reports each signal alone. Real wording is loose: raw FAISS similarity
    ranks the right article first less often than the others (the embedding classifier already
    carries what the vectors know), so it mostly breaks ties."""

    dense: float = 0.1    # FAISS similarity of the best chunk or typical phrasing
    lexical: float = 1.0  # BM25 over jieba words and character bigrams, whole article
    char: float = 1.0     # learned: character n-gram classifier
    learned: float = 1.0  # learned: sentence-embedding classifier


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str
    score: float       # fused ranking score, 0..1 (+ any intent prior)
    confidence: float  # the learned rankers' probability for this article, 0..1
    snippet: str
    heading: str
    dense: float
    lexical: float
    # How many of the ranking's signals put this article first on their own (of `signals`): when they all
    # do, the first article is right far more often than its probability says.
    agreement: int = 0
    signals: int = 0


class IndexNotReady(RuntimeError):
    pass


class KnowledgeBase:
    def __init__(self, index_dir: Path, encoder: Encoder, tokenizer: Tokenizer) -> None:
        self._index_dir = index_dir
        self._encoder = encoder
        self._tokenizer = tokenizer
        self._index: LoadedIndex | None = None
        self._scope: Scope | None = None
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._last_vector: tuple[str, np.ndarray] | None = None
        self.reload_if_changed(force=True)

    @property
    def index(self) -> LoadedIndex:
        self.reload_if_changed()
        if self._index is None:
            raise IndexNotReady("知识库索引尚未建立")
        return self._index

    @property
    def ready(self) -> bool:
        return self._index is not None

    def reload_if_changed(self, force: bool = False) -> bool:
        now = time.monotonic()
        if not force and now - self._checked_at < RELOAD_CHECK_S:
            return False
        self._checked_at = now
        build = current_build(self._index_dir)
        if build is None or (self._index is not None and self._index.build == build):
            return False
        with self._lock:
            if self._index is not None and self._index.build == build:
                return False
            try:
                loaded = load_index(self._index_dir, build)
            except (OSError, ValueError):
                # Pruned or unreadable while we looked: keep serving the index we have.
                log.warning("could not load index build %s; keeping %s", build, self._index and self._index.build)
                return False
            if loaded.manifest.get("encoder") != self._encoder.name:
                raise IndexNotReady(
                    f"索引由 {loaded.manifest.get('encoder')} 建立，当前编码器为 {self._encoder.name}：请重新建立索引"
                )
            # Built before the swap: a reader never sees the new index with the old vocabulary.
            keywords = {k for record in loaded.articles.values() for k in record["keywords"]}
            self._scope = Scope.load(keywords, self._tokenizer.dictionary_dir)
            self._index = loaded
        return True

    @property
    def scope(self) -> Scope:
        self.index  # noqa: B018 - loads or reloads the index (and its scope) when needed
        assert self._scope is not None
        return self._scope

    def warm_up(self) -> None:
        """One search at start-up: the tokenizer's dictionary, the encoder's first run and the index are
        loaded now, not on the first citizen's question, whose knowledge-base fallback has a deadline."""
        try:
            self.search("公积金提取", k=1)
        except IndexNotReady:
            pass  # being built: the first question after the build pays instead

    def article(self, article_id: str) -> dict | None:
        return self.index.articles.get(article_id)

    def not_ours(self, question: str) -> float | None:
        """The scope model's probability that the question belongs to somebody else (None when
        the index has no scope model: no negative examples were given)."""
        model = self.index.scope_model
        if model is None or not question.strip():
            return None
        char, dense = model.probabilities(question, self._embed(question))
        return float(char[1] + dense[1]) / 2

    def _embed(self, text: str) -> np.ndarray:
        # The answerer asks the scope model and then searches with the same question: encode it once.
        last = self._last_vector
        if last is not None and last[0] == text:
            return last[1]
        vector = self._encoder.encode([text])
        self._last_vector = (text, vector)
        return vector

    def search(
        self, query: str, k: int = 5, weights: Weights | None = None, boost: dict[str, float] | None = None
    ) -> list[Hit]:
        """The best `k` articles for `query`, each with the section that matches it best.
        `boost` adds a prior per article (from the bot's intent); `weights` select the signals."""
        index = self.index
        if not query.strip() or not index.chunks:
            return []
        weights = weights or Weights()
        vector = self._embed(query)
        tokens = self._tokenizer.tokens(query)
        dense_chunks = self._dense_chunks(index, vector)
        lexical_chunks = _normalised(index.bm25.scores(tokens), index.bm25.max_possible(tokens))
        order = index.article_rows
        chunk_article = index.chunk_articles
        dense = np.zeros(len(order), dtype=np.float32)
        # Only the FAISS candidates have a score: folding just those keeps this cheap at 100k chunks.
        candidates = np.flatnonzero(dense_chunks)
        np.maximum.at(dense, chunk_article[candidates], dense_chunks[candidates])
        lexical = _normalised(index.article_bm25.scores(tokens), index.article_bm25.max_possible(tokens))
        char = learned = np.zeros(len(order), dtype=np.float32)
        if index.ranker is not None:
            char, learned = index.ranker.probabilities(query, vector)
        signals = (
            (weights.dense, dense), (weights.lexical, lexical), (weights.char, char), (weights.learned, learned),
        )
        used = [(w, v) for w, v in signals if w > 0 and v.max() > 0]
        total = sum(w for w, _ in signals if w > 0) or 1.0
        fused = sum((w * v / v.max() for w, v in used), np.zeros(len(order), dtype=np.float32)) / total
        for article_id, prior in (boost or {}).items():
            if article_id in order:
                fused[order[article_id]] += prior
        confidence = (char + learned) / 2 if index.ranker is not None else dense
        firsts = [int(np.argmax(v)) for _, v in used]
        section_scores = dense_chunks + lexical_chunks
        hits = []
        for i in np.argsort(-fused)[:k]:
            if fused[i] <= 0:
                break
            article_id = index.article_ids[i]
            own = index.article_chunks[i]
            chunk = index.chunks[own[np.argmax(section_scores[own])]]
            hits.append(
                Hit(
                    article_id=article_id,
                    title=index.articles[article_id]["title"],
                    score=round(float(fused[i]), 4),
                    confidence=round(float(confidence[i]), 4),
                    snippet=chunk.snippet[:160],
                    heading=chunk.heading,
                    dense=round(float(dense[i]), 4),
                    lexical=round(float(lexical[i]), 4),
                    agreement=firsts.count(int(i)),
                    signals=len(firsts),
                )
            )
        return hits

    def best_section(self, article_id: str, query: str) -> Hit | None:
        """The chunk of one article that matches `query` best (for follow-ups on a known topic)."""
        index = self.index
        if article_id not in index.articles:
            return None
        own = index.article_chunks[index.article_rows[article_id]].tolist()
        if not own:
            return None
        vector = self._embed(query)[0]
        tokens = self._tokenizer.tokens(query)
        lexical = _normalised(index.bm25.scores(tokens), index.bm25.max_possible(tokens))
        scores = [float(index.vectors.reconstruct(i) @ vector) + float(lexical[i]) for i in own]
        chunk = index.chunks[own[int(np.argmax(scores))]]
        return Hit(article_id, index.articles[article_id]["title"], max(scores), 1.0, chunk.snippet[:160],
                   chunk.heading, 0.0, 0.0)

    @staticmethod
    def _dense_chunks(index: LoadedIndex, vector: np.ndarray) -> np.ndarray:
        scores = np.zeros(len(index.chunks), dtype=np.float32)
        sims, ids = index.vectors.search(vector, min(DENSE_CANDIDATES, len(index.chunks)))
        valid = ids[0] >= 0
        scores[ids[0][valid]] = np.clip(sims[0][valid], 0, None)
        return scores


def _normalised(scores: np.ndarray, bound: float) -> np.ndarray:
    return scores / bound if bound else np.zeros_like(scores)
