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
from knowledge.tokenize import Tokenizer

log = logging.getLogger(__name__)
DENSE_CANDIDATES = 64
# Fusion weights, tuned on the development split of bench/data/questions.yml.
DENSE_WEIGHT = 0.5
RELOAD_CHECK_S = 1.0


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str
    score: float
    snippet: str
    heading: str
    dense: float
    lexical: float


class IndexNotReady(RuntimeError):
    pass


class KnowledgeBase:
    def __init__(self, index_dir: Path, encoder: Encoder, tokenizer: Tokenizer) -> None:
        self._index_dir = index_dir
        self._encoder = encoder
        self._tokenizer = tokenizer
        self._index: LoadedIndex | None = None
        self._lock = threading.Lock()
        self._checked_at = 0.0
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
            self._index = loaded
        return True

    def article(self, article_id: str) -> dict | None:
        return self.index.articles.get(article_id)

    def search(self, query: str, k: int = 5, dense_weight: float = DENSE_WEIGHT) -> list[Hit]:
        """Best chunk per article; `dense_weight` 1.0 is dense-only, 0.0 lexical-only (for benchmarks)."""
        index = self.index
        n_chunks = len(index.chunks)
        if not query.strip() or n_chunks == 0:
            return []
        dense = np.zeros(n_chunks, dtype=np.float32)
        vector = self._encoder.encode([query])
        sims, ids = index.vectors.search(vector, min(DENSE_CANDIDATES, n_chunks))
        for sim, idx in zip(sims[0], ids[0], strict=False):
            if idx >= 0:
                dense[idx] = max(float(sim), 0.0)
        tokens = self._tokenizer.tokens(query)
        bound = index.bm25.max_possible(tokens)
        lexical = index.bm25.scores(tokens) / bound if bound else np.zeros(n_chunks, dtype=np.float32)
        fused = dense_weight * dense + (1 - dense_weight) * lexical
        return self._best_per_article(index, fused, dense, lexical, k)

    @staticmethod
    def _best_per_article(
        index: LoadedIndex, fused: np.ndarray, dense: np.ndarray, lexical: np.ndarray, k: int
    ) -> list[Hit]:
        hits: dict[str, Hit] = {}
        for idx in np.argsort(-fused):
            if len(hits) >= k or fused[idx] <= 0:
                break
            chunk = index.chunks[idx]
            if chunk.article_id in hits:
                continue
            article = index.articles[chunk.article_id]
            hits[chunk.article_id] = Hit(
                article_id=chunk.article_id,
                title=article["title"],
                score=round(float(fused[idx]), 4),
                snippet=chunk.snippet[:160],
                heading=chunk.heading,
                dense=round(float(dense[idx]), 4),
                lexical=round(float(lexical[idx]), 4),
            )
        return list(hits.values())
