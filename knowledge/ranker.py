"""Learned article rankers, trained at index-build time from the articles themselves.

Each article's title, keywords, summary, typical phrasings and sections are examples of "text
that belongs to this article". Two small classifiers learn from them: one over character n-grams
(robust to typos, dialect and homophones) and one over sentence embeddings (robust to rewording).
Their probabilities are the strongest ranking signal on citizen questions, and, unlike raw
similarities, comparable across questions. No evaluation question is ever used for training.

Stored as plain arrays (no pickle), so an index folder is data, not code.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from knowledge.articles import Article
from knowledge.encoders import Encoder

# Above this many articles the classifiers' weight matrices stop being small; search then relies
# on dense + BM25 alone (the health report says which).
MAX_ARTICLES = 3000
NGRAMS = (1, 3)


def training_texts(article: Article) -> list[str]:
    return [
        article.title,
        " ".join(article.keywords),
        article.summary,
        *article.questions,
        *(f"{s.heading} {s.text}" for s in article.sections),
    ]


class LearnedRanker:
    def __init__(self, article_ids: list[str], vocabulary: dict[str, int], idf: np.ndarray,
                 char_coef: np.ndarray, char_bias: np.ndarray, dense_coef: np.ndarray, dense_bias: np.ndarray) -> None:
        self.article_ids = article_ids
        self._vectorizer = _vectorizer(vocabulary, idf)
        self._char = (char_coef, char_bias)
        self._dense = (dense_coef, dense_bias)

    @classmethod
    def train(cls, articles: list[Article], encoder: Encoder) -> LearnedRanker | None:
        if len(articles) < 2 or len(articles) > MAX_ARTICLES:
            return None
        texts, labels = [], []
        for label, article in enumerate(articles):
            for text in training_texts(article):
                texts.append(text)
                labels.append(label)
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True)
        char_model = LogisticRegression(C=20, max_iter=3000).fit(vectorizer.fit_transform(texts), labels)
        dense_model = LogisticRegression(C=10, max_iter=3000).fit(encoder.encode(texts), labels)
        return cls(
            [a.id for a in articles],
            {term: int(i) for term, i in vectorizer.vocabulary_.items()},
            vectorizer.idf_.astype(np.float32),
            *_per_class(char_model),
            *_per_class(dense_model),
        )

    def probabilities(self, text: str, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(character-n-gram probabilities, embedding probabilities), one per article id."""
        features = self._vectorizer.transform([text])
        char = _softmax(np.asarray(features @ self._char[0].T).ravel() + self._char[1])
        dense = _softmax(vector.ravel() @ self._dense[0].T + self._dense[1])
        return char, dense

    def save(self, folder: Path) -> None:
        np.savez(
            folder / "ranker.npz",
            idf=self._vectorizer.idf_, char_coef=self._char[0], char_bias=self._char[1],
            dense_coef=self._dense[0], dense_bias=self._dense[1],
        )
        meta = {"article_ids": self.article_ids, "vocabulary": self._vectorizer.vocabulary_}
        (folder / "ranker.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LearnedRanker | None:
        if not (folder / "ranker.npz").exists():
            return None
        arrays = np.load(folder / "ranker.npz")
        meta = json.loads((folder / "ranker.json").read_text(encoding="utf-8"))
        return cls(meta["article_ids"], meta["vocabulary"], arrays["idf"], arrays["char_coef"], arrays["char_bias"],
                   arrays["dense_coef"], arrays["dense_bias"])


def _vectorizer(vocabulary: dict[str, int], idf: np.ndarray) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, vocabulary=vocabulary)
    vectorizer.idf_ = idf  # a fitted vectorizer is its vocabulary plus these weights
    return vectorizer


def _per_class(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """One row of weights per article. With two articles scikit-learn keeps a single row (the
    second class's logit against a zero first); spelling out both makes softmax apply alike."""
    coef, bias = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
    if coef.shape[0] == 1:
        coef, bias = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], bias]).astype(np.float32)
    return coef, bias


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()

