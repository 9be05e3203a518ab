"""Okapi BM25 over pre-tokenised chunks, stored as one sparse matrix of per-term weights.

Weights are computed once at build time (idf · saturated tf), so a query is a column sum.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse


class BM25:
    def __init__(self, weights: sparse.csc_matrix, vocabulary: dict[str, int]) -> None:
        self._weights = weights
        self._vocabulary = vocabulary

    @classmethod
    def build(cls, documents: list[list[str]], k1: float = 1.2, b: float = 0.75) -> BM25:
        vocabulary: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        for row, tokens in enumerate(documents):
            for term, tf in Counter(tokens).items():
                rows.append(row)
                cols.append(vocabulary.setdefault(term, len(vocabulary)))
                tfs.append(tf)
        n_docs = len(documents)
        lengths = np.array([len(d) for d in documents], dtype=np.float32)
        avg = float(lengths.mean()) if n_docs else 1.0
        df = np.bincount(np.array(cols, dtype=np.int64), minlength=len(vocabulary))
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        freq = np.array(tfs, dtype=np.float32)
        norm = k1 * (1 - b + b * lengths[np.array(rows, dtype=np.int64)] / max(avg, 1e-6))
        values = idf[np.array(cols, dtype=np.int64)] * freq * (k1 + 1) / (freq + norm)
        weights = sparse.csc_matrix((values, (rows, cols)), shape=(n_docs, len(vocabulary)), dtype=np.float32)
        return cls(weights, vocabulary)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        columns = [self._vocabulary[t] for t in query_tokens if t in self._vocabulary]
        if not columns:
            return np.zeros(self._weights.shape[0], dtype=np.float32)
        return np.asarray(self._weights[:, columns].sum(axis=1)).ravel()

    def max_possible(self, query_tokens: list[str]) -> float:
        """Upper bound of a query's score: lets scores be normalised to 0..1 across queries."""
        columns = [self._vocabulary[t] for t in query_tokens if t in self._vocabulary]
        if not columns:
            return 0.0
        return float(sum(self._weights[:, c].max() for c in columns)) or math.inf

    def save(self, directory: Path, name: str = "bm25") -> None:
        sparse.save_npz(directory / f"{name}.npz", self._weights)
        vocabulary = json.dumps(self._vocabulary, ensure_ascii=False)
        (directory / f"{name}_vocab.json").write_text(vocabulary, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, name: str = "bm25") -> BM25:
        weights = sparse.load_npz(directory / f"{name}.npz").tocsc()
        vocabulary = json.loads((directory / f"{name}_vocab.json").read_text(encoding="utf-8"))
        return cls(weights, vocabulary)
