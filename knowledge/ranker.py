"""Learned classifiers trained at index-build time: the article ranker and the scope model.

Both are the same small thing: two logistic regressions over one text, one over character
n-grams (robust to typos, dialect and homophones) and one over sentence embeddings (robust to
rewording), whose probabilities are averaged by the caller as it needs.

The article ranker learns from the articles themselves: each article's title, keywords, summary,
typical phrasings and sections are examples of "text that belongs to this article". Its
probabilities are the strongest ranking signal on citizen questions and, unlike raw similarities,
comparable across questions. No evaluation question is ever used for training.

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
RANKER = "ranker"
# How the ranker is trained, in the index fingerprint: a change here rebuilds every index on its next check.
RECIPE = "ranker-2 keywords-alone char-c50"


def training_texts(article: Article) -> list[str]:
    return [
        article.title,
        " ".join(article.keywords),
        article.summary,
        *article.questions,
        *(f"{s.heading} {s.text}" for s in article.sections),
    ]


class TextClassifier:
    """Character-n-gram and embedding logistic regressions over the same labels."""

    def __init__(self, labels: list[str], vocabulary: dict[str, int], idf: np.ndarray,
                 char_coef: np.ndarray, char_bias: np.ndarray, dense_coef: np.ndarray, dense_bias: np.ndarray) -> None:
        self.labels = labels
        self._vectorizer = _vectorizer(vocabulary, idf)
        self._char = (char_coef, char_bias)
        self._dense = (dense_coef, dense_bias)

    @classmethod
    def fit(cls, texts: list[str], labels: list[int], names: list[str], encoder: Encoder, *,
            char_c: float, dense_c: float, balanced: bool = False) -> TextClassifier:
        weight = "balanced" if balanced else None
        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True)
        char_model = LogisticRegression(C=char_c, max_iter=3000, class_weight=weight)
        char_model.fit(vectorizer.fit_transform(texts), labels)
        dense_model = LogisticRegression(C=dense_c, max_iter=3000, class_weight=weight)
        dense_model.fit(encoder.encode(texts), labels)
        return cls(
            names,
            {term: int(i) for term, i in vectorizer.vocabulary_.items()},
            vectorizer.idf_.astype(np.float32),
            *_per_class(char_model),
            *_per_class(dense_model),
        )

    def probabilities(self, text: str, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(character-n-gram probabilities, embedding probabilities), one per label."""
        features = self._vectorizer.transform([text])
        char = _softmax(np.asarray(features @ self._char[0].T).ravel() + self._char[1])
        dense = _softmax(vector.ravel() @ self._dense[0].T + self._dense[1])
        return char, dense

    def save(self, folder: Path, name: str) -> None:
        np.savez(
            folder / f"{name}.npz",
            idf=self._vectorizer.idf_, char_coef=self._char[0], char_bias=self._char[1],
            dense_coef=self._dense[0], dense_bias=self._dense[1],
        )
        meta = {"labels": self.labels, "vocabulary": self._vectorizer.vocabulary_}
        (folder / f"{name}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, name: str) -> TextClassifier | None:
        if not (folder / f"{name}.npz").exists():
            return None
        arrays = np.load(folder / f"{name}.npz")
        meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        return cls(meta["labels"], meta["vocabulary"], arrays["idf"], arrays["char_coef"], arrays["char_bias"],
                   arrays["dense_coef"], arrays["dense_bias"])


def train_ranker(articles: list[Article], encoder: Encoder) -> TextClassifier | None:
    """One class per article, its labels the article ids in `articles` order."""
    if len(articles) < 2 or len(articles) > MAX_ARTICLES:
        return None
    texts, labels = [], []
    for label, article in enumerate(articles):
        # Each keyword is an example on its own as well as in the list: short colloquial questions
        # ("断缴", "封存了咋办") look like one keyword, not like the list. On the dev halves of our own set
        # and of real wording this moved our own top-1 from 94.1% to 94.9%, real wording unchanged.
        for text in [*training_texts(article), *article.keywords]:
            texts.append(text)
            labels.append(label)
    return TextClassifier.fit(texts, labels, [a.id for a in articles], encoder, char_c=50, dense_c=10)


def _vectorizer(vocabulary: dict[str, int], idf: np.ndarray) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, vocabulary=vocabulary)
    vectorizer.idf_ = idf  # a fitted vectorizer is its vocabulary plus these weights
    return vectorizer


def _per_class(model: LogisticRegression) -> tuple[np.ndarray, np.ndarray]:
    """One row of weights per label. With two labels scikit-learn keeps a single row (the second
    label's logit against a zero first); spelling out both makes softmax apply alike."""
    coef, bias = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
    if coef.shape[0] == 1:
        coef, bias = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], bias]).astype(np.float32)
    return coef, bias


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()
