"""Building, storing and loading the knowledge index.

Each build goes to its own folder under `<index_dir>/builds/`; the file `<index_dir>/CURRENT`
names the live one and is replaced atomically, so a reader sees either the old index or the new
one, never half of either. A build happens only when its inputs (articles, parameters,
dictionary, synonyms, the scope rules and examples, encoder, vector-index policy) changed.

Small indexes are searched exactly (FAISS IndexFlatIP); from `VectorPolicy.threshold` chunks on,
the build makes an HNSW graph instead, whose search time grows with log(n) rather than n. The
choice and its parameters are written to the manifest, which the health report shows.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from knowledge.articles import Article, Chunk, chunk_article, content_hash, load_articles
from knowledge.bm25 import BM25
from knowledge.encoders import Encoder
from knowledge.ranker import RANKER, RECIPE, TextClassifier, train_ranker, training_texts
from knowledge.scope import (
    NEGATIVE_SOURCES,
    SCOPE_FILE,
    SCOPE_MODEL,
    load_negatives,
    require_inputs,
    train_scope_model,
)
from knowledge.tokenize import SYNONYMS_FILE, Tokenizer
from policy.params import load_params

Progress = Callable[[str, int, int], None]
KEEP_BUILDS = 2


@dataclass(frozen=True)
class Sources:
    """Everything an index is built from."""

    articles_dir: Path
    params_dir: Path
    dictionary_dir: Path | None
    negative_files: tuple[Path, ...] = NEGATIVE_SOURCES  # the scope model's not-ours examples

    def folders(self) -> list[Path]:
        return [self.articles_dir, self.params_dir] + ([self.dictionary_dir] if self.dictionary_dir else [])

    def inputs(self) -> list[Path]:
        """Every folder and file a build reads: what the fingerprint covers and an image must hold."""
        return self.folders() + list(input_files(self.negative_files))

    def check(self) -> None:
        """scope.InputMissing unless every input is there (the image build runs this)."""
        require_inputs(tuple(self.inputs()))

    def fingerprint(self, encoder_name: str, policy: VectorPolicy | None = None) -> str:
        extra = encoder_name + RECIPE + (policy or VectorPolicy()).describe() + file_inputs(self.negative_files)
        return content_hash(*self.folders(), extra=extra)


def input_files(negative_files: tuple[Path, ...] = NEGATIVE_SOURCES) -> tuple[Path, ...]:
    """The single files an index is built from: the synonyms, the scope rules (the scope model learns
    without their fund words) and the scope model's examples."""
    return (SYNONYMS_FILE, SCOPE_FILE, *negative_files)


def file_inputs(negative_files: tuple[Path, ...] = NEGATIVE_SOURCES) -> str:
    """The single files' contents as one text; a missing one is an error (scope.InputMissing)."""
    files = input_files(negative_files)
    require_inputs(files)
    return "".join(p.read_text(encoding="utf-8") for p in files)


HNSW_STORAGE = "sq8"  # how the graph stores its vectors (faiss.ScalarQuantizer.QT_8bit)


@dataclass(frozen=True)
class VectorPolicy:
    """Which FAISS index a build makes: exact below `threshold` chunks, HNSW from there on.

    The HNSW graph keeps its vectors as 8-bit scalar-quantised codes: a quarter of the memory and cheaper
    distances. On bench/scale.py's 100,000 chunks, recall and speed trade one for one along efSearch;
    with float vectors recall 0.95 came at about 4.8 times exact search's p99, with 8-bit codes at 6.6
    times. The defaults (graph degree 48, build breadth 160, search breadth 128) give recall@10 about
    0.96 at about 6 times; the search breadth must stay at least search.DENSE_CANDIDATES.
    """

    threshold: int = 20_000
    hnsw_m: int = 48
    ef_construction: int = 160
    ef_search: int = 128

    def describe(self) -> str:
        # The storage is named too, so an index built with float vectors is rebuilt.
        return json.dumps(asdict(self) | {"storage": HNSW_STORAGE}, sort_keys=True)

    def make(self, dim: int, size: int) -> tuple[faiss.Index, str, dict]:
        """An empty index for `size` vectors, its type name and its parameters (for the manifest)."""
        if size < self.threshold:
            return faiss.IndexFlatIP(dim), "flat-ip", {"threshold": self.threshold}
        # faiss's stubs ask for a ScalarQuantizer here; the constructor takes its quantizer type (an int).
        index = faiss.IndexHNSWSQ(
            dim, faiss.ScalarQuantizer.QT_8bit, self.hnsw_m, faiss.METRIC_INNER_PRODUCT  # type: ignore[arg-type]
        )
        index.hnsw.efConstruction = self.ef_construction
        index.hnsw.efSearch = self.ef_search
        params = {"threshold": self.threshold, "m": self.hnsw_m, "ef_construction": self.ef_construction,
                  "ef_search": self.ef_search, "storage": HNSW_STORAGE}
        return index, "hnsw-sq8-ip", params


@dataclass
class LoadedIndex:
    build: str
    manifest: dict
    vectors: faiss.Index
    bm25: BM25             # over chunks: picks the section that answers
    article_bm25: BM25     # over whole articles, rows in `article_ids` order: ranks articles
    article_ids: list[str]
    ranker: TextClassifier | None       # one label per article id
    scope_model: TextClassifier | None  # labels "ours", "not_ours"
    chunks: list[Chunk]
    articles: dict[str, dict]
    chunk_articles: np.ndarray  # row in `article_ids` of each chunk's article (computed once, not per search)
    article_rows: dict[str, int]       # article id -> its row in `article_ids`
    article_chunks: list[np.ndarray]   # per article row, its chunk rows


def current_build(index_dir: Path) -> str | None:
    try:
        return (index_dir / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def current_manifest(index_dir: Path) -> dict | None:
    build = current_build(index_dir)
    if build is None:
        return None
    try:
        return json.loads((index_dir / "builds" / build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def needs_build(index_dir: Path, sources: Sources, encoder_name: str, policy: VectorPolicy | None = None) -> bool:
    manifest = current_manifest(index_dir)
    return manifest is None or manifest.get("fingerprint") != sources.fingerprint(encoder_name, policy)


def _article_record(article: Article, business: dict) -> dict:
    record = asdict(article)
    link = business.get(article.business) if article.business else None
    record["business_link"] = {"title": link["name"], "url": link["url"]} if link else None
    return record


def build_index(
    index_dir: Path, sources: Sources, encoder: Encoder, tokenizer: Tokenizer, progress: Progress | None = None,
    policy: VectorPolicy | None = None,
) -> str:
    """Build a new index folder and make it current. Returns the build name."""
    report = progress or (lambda *_: None)
    policy = policy or VectorPolicy()
    started = time.time()
    params = load_params(sources.params_dir)
    articles = load_articles(sources.articles_dir, params)
    chunks = [chunk for article in articles for chunk in chunk_article(article)]
    report("articles", len(articles), len(articles))

    vectors = np.zeros((len(chunks), encoder.dim), dtype=np.float32)
    batch = 64
    for start in range(0, len(chunks), batch):
        vectors[start:start + batch] = encoder.encode([c.text for c in chunks[start:start + batch]])
        report("embedding", min(start + batch, len(chunks)), len(chunks))
    index, index_type, index_params = policy.make(encoder.dim, len(chunks))
    if not index.is_trained:
        index.train(vectors)  # the 8-bit codes' per-dimension ranges
    index.add(vectors)
    report("vectors", len(chunks), len(chunks))
    bm25 = BM25.build([tokenizer.tokens(c.text) for c in chunks])
    article_bm25 = BM25.build([tokenizer.tokens("\n".join(training_texts(a))) for a in articles])
    report("bm25", len(chunks), len(chunks))
    ranker = train_ranker(articles, encoder)
    report("ranker", len(articles), len(articles))
    negatives = load_negatives(sources.negative_files)
    scope_model = train_scope_model(articles, encoder, negatives)
    report("scope model", len(negatives), len(negatives))

    business = params.get("business", {})
    fingerprint = sources.fingerprint(encoder.name, policy)
    build = f"{time.strftime('%Y%m%dT%H%M%S')}-{fingerprint[:10]}-{uuid.uuid4().hex[:8]}"
    folder = index_dir / "builds" / f".partial-{build}"
    folder.mkdir(parents=True)
    faiss.write_index(index, str(folder / "vectors.faiss"))
    bm25.save(folder)
    article_bm25.save(folder, "bm25_articles")
    if ranker is not None:
        ranker.save(folder, RANKER)
    if scope_model is not None:
        scope_model.save(folder, SCOPE_MODEL)
    _write_json(folder / "chunks.json", [asdict(c) for c in chunks])
    # A list keeps the articles' order: the article-level BM25 rows follow it.
    _write_json(folder / "articles.json", [_article_record(a, business) for a in articles])
    _write_json(
        folder / "manifest.json",
        {
            "fingerprint": fingerprint,
            "encoder": encoder.name,
            "dim": encoder.dim,
            "articles": len(articles),
            "chunks": len(chunks),
            "index_type": index_type,
            "index_params": index_params,
            "learned_ranker": ranker is not None,
            "scope_model": {"negatives": len(negatives)} if scope_model is not None else None,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.time() - started, 2),
        },
    )
    os.rename(folder, index_dir / "builds" / build)  # complete before anyone can name it
    _switch_current(index_dir, build)
    _prune(index_dir, keep={build})
    return build


def load_index(index_dir: Path, build: str) -> LoadedIndex:
    folder = index_dir / "builds" / build
    chunks = [Chunk(**c) for c in json.loads((folder / "chunks.json").read_text(encoding="utf-8"))]
    records = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
    article_ids = [r["id"] for r in records]
    row = {article_id: i for i, article_id in enumerate(article_ids)}
    chunk_articles = np.array([row[c.article_id] for c in chunks], dtype=np.int64)
    by_article = np.argsort(chunk_articles, kind="stable")
    bounds = np.searchsorted(chunk_articles[by_article], np.arange(len(article_ids) + 1))
    return LoadedIndex(
        build=build,
        manifest=json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
        vectors=faiss.read_index(str(folder / "vectors.faiss")),
        bm25=BM25.load(folder),
        article_bm25=BM25.load(folder, "bm25_articles"),
        article_ids=article_ids,
        ranker=TextClassifier.load(folder, RANKER),
        scope_model=TextClassifier.load(folder, SCOPE_MODEL),
        chunks=chunks,
        articles={r["id"]: r for r in records},
        chunk_articles=chunk_articles,
        article_rows=row,
        article_chunks=[by_article[bounds[i]:bounds[i + 1]] for i in range(len(article_ids))],
    )


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _switch_current(index_dir: Path, build: str) -> None:
    tmp = index_dir / f"CURRENT.{os.getpid()}.tmp"
    tmp.write_text(build, encoding="utf-8")
    os.replace(tmp, index_dir / "CURRENT")


def _prune(index_dir: Path, keep: set[str]) -> None:
    # Keep the previous build too: a reader may be loading it right now.
    folders = (p for p in (index_dir / "builds").iterdir() if p.is_dir() and not p.name.startswith("."))
    builds = sorted(folders, key=lambda p: p.stat().st_mtime)
    for old in builds[:-KEEP_BUILDS]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)

