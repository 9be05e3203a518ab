"""Scale benchmark: the knowledge index at 100,000 chunks, exact (IndexFlatIP) against approximate (HNSW).

    python -m bench.scale [--chunks 100000] [--queries 1000] [--keep DIR]

The corpus is synthetic, the code under test is not: 5,000 Markdown articles of 20 chunks each go
through knowledge.index.build_index (the service's own build: chunks, embeddings, FAISS, BM25 over jieba
tokens) twice, once below and once above the exact/approximate threshold, each build in its own process
so its peak memory is its own. The text is Chinese-like: sentences drawn from fund-business words, a topic
vocabulary per article and common characters. The embeddings come from `BigramEncoder`, a stand-in for a
sentence model: each character bigram has a fixed random 64-dimensional vector, a text is the mean of its
bigrams' vectors mapped into 512 dimensions, plus a little noise. Texts that share words are close, and
the vectors have the low intrinsic dimension real sentence embeddings have; uniform random vectors would
make every index look bad, and 100,000 real encodings take too long on a small machine.

Queries are corrupted chunks (characters dropped, words replaced, colloquial padding), encoded alike.
Search times are single-threaded, one query at a time (one request on a busy service), exact and
approximate interleaved in the same run. Printed: build time and peak memory for each build; the FAISS
search alone (k=10 and the k=64 candidates search.py asks for) p50/p99 and recall@10 of HNSW against
exact; the whole KnowledgeBase.search (encode, FAISS, BM25, fusion) p50/p99; BM25 alone at this size.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import faiss
import numpy as np

from knowledge import ranker
from knowledge.articles import CATEGORIES
from knowledge.index import Sources, VectorPolicy, build_index
from knowledge.search import KnowledgeBase
from knowledge.tokenize import Tokenizer

ROOT = Path(__file__).resolve().parent.parent
CHUNKS_PER_ARTICLE = 20  # a summary and 19 sections
BUSINESS = (
    "住房公积金 提取 租房 购房 贷款 利率 缴存 基数 比例 账户 封存 启封 转移 接续 异地 离职 退休 还款 提前还款 "
    "商业贷款 组合贷款 首付 额度 期限 身份证 户口本 结婚证 租赁合同 备案 发票 银行卡 单位 个人 灵活就业 "
    "补缴 断缴 余额 明细 查询 网上大厅 公众号 柜台 热线 审批 到账 工作日 材料 条件 流程 时限 证明 配偶 子女"
).split()
COMMON = (  # frequent Chinese characters, for the words that are neither business nor topic
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
    "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
    "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比"
    "或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
    "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做"
    "必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权"
    "收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信"
    "马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连"
    "断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存"
    "候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
)


class BigramEncoder:
    """Mean of per-bigram random vectors in 64 dimensions, mapped to 512: structured, fast, deterministic."""

    name = "bench-bigram64"
    dim = 512
    latent = 64

    def __init__(self) -> None:
        rng = np.random.default_rng(7)
        self._projection = rng.standard_normal((self.latent, self.dim)).astype(np.float32)
        self._table: dict[str, np.ndarray] = {}

    def _bigram(self, gram: str) -> np.ndarray:
        vector = self._table.get(gram)
        if vector is None:
            vector = np.random.default_rng(zlib.crc32(gram.encode())).standard_normal(self.latent).astype(np.float32)
            self._table[gram] = vector
        return vector

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            grams = [text[i:i + 2] for i in range(len(text) - 1)] or [text or " "]
            mean = np.mean([self._bigram(g) for g in grams], axis=0)
            noise = np.random.default_rng(zlib.crc32(text.encode())).standard_normal(self.dim).astype(np.float32)
            out[row] = mean @ self._projection + 0.5 * noise
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


# -- the corpus -----------------------------------------------------------------------------------------

def _word(rng: random.Random) -> str:
    return "".join(rng.choice(COMMON) for _ in range(rng.randint(2, 3)))


def _sentence(rng: random.Random, topic: list[str]) -> str:
    words = [rng.choice(topic) if rng.random() < 0.45 else rng.choice(BUSINESS) if rng.random() < 0.5
             else _word(rng) for _ in range(rng.randint(6, 12))]
    return "".join(words) + rng.choice("。；，")


def write_corpus(folder: Path, chunks: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    topics = [[_word(rng) for _ in range(12)] for _ in range(400)]
    for n in range(chunks // CHUNKS_PER_ARTICLE):
        topic = topics[rng.randrange(len(topics))] + [_word(rng) for _ in range(6)]  # shared and own words
        title = "".join(rng.sample(topic, 2)) + rng.choice(BUSINESS)
        sections = "\n".join(
            f"## {rng.choice(BUSINESS)}{k}\n{''.join(_sentence(rng, topic) for _ in range(rng.randint(2, 4)))}\n"
            for k in range(CHUNKS_PER_ARTICLE - 1)
        )
        (folder / f"a{n:05d}.md").write_text(
            f"---\nid: a{n:05d}\ntitle: {title}\ncategory: {rng.choice(sorted(CATEGORIES))}\n"
            f"keywords: [{', '.join(rng.sample(topic, 4))}]\neffective_date: 2026-01-01\nsource: 合成语料\n"
            f"summary: {_sentence(rng, topic)}\n---\n{sections}",
            encoding="utf-8",
        )


def make_queries(kb: KnowledgeBase, count: int, seed: int = 2) -> tuple[list[str], list[int]]:
    """Corrupted chunks, and the row of the chunk each was made from."""
    rng = random.Random(seed)
    rows = rng.sample(range(len(kb.index.chunks)), count)
    queries = []
    for row in rows:
        chars = [c for c in kb.index.chunks[row].text.replace("\n", "") if rng.random() > 0.25][: rng.randint(12, 40)]
        for _ in range(2):
            if chars:
                chars[rng.randrange(len(chars))] = rng.choice(COMMON)
        padding = rng.choice(("请问", "我想问下", "", "俺")), rng.choice(("吗？", "咋办", "", "？"))
        queries.append(padding[0] + "".join(chars) + padding[1])
    return queries, rows


# -- one build, in its own process ------------------------------------------------------------------------

def build_one(articles: Path, index_dir: Path, threshold: int) -> dict:
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if done >= total:
            stages[stage] = time.perf_counter() - started

    # The learned rankers stay out: at 100,000 chunks (5,000 articles) the service skips them anyway
    # (above ranker.MAX_ARTICLES), and a smaller trial run should measure the same build.
    ranker.MAX_ARTICLES = 0
    build_index(index_dir, Sources(articles, ROOT / "policy" / "params", None), BigramEncoder(),
                Tokenizer(None), progress, VectorPolicy(threshold=threshold))
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "faiss_seconds": round(stages["vectors"] - stages["embedding"], 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _build_in_child(articles: Path, index_dir: Path, threshold: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale", "--build-one", str(articles), str(index_dir), str(threshold)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- measuring ------------------------------------------------------------------------------------------

REPEATS = 3  # runs of every query; the median of a query's runs leaves out the shared machine's hiccups


def _ms(seconds: np.ndarray, q: float) -> float:
    return float(np.percentile(seconds, q) * 1000)


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def _builds(work: Path, chunks: int) -> dict[str, dict]:
    """Build both indexes (or reuse those of an earlier run with --keep)."""
    done = work / "builds.json"
    if done.exists():
        print(f"reusing the builds in {work}")
        return json.loads(done.read_text())
    started = time.perf_counter()
    write_corpus(work / "articles", chunks)
    print(f"corpus: {chunks // CHUNKS_PER_ARTICLE} articles × {CHUNKS_PER_ARTICLE} chunks "
          f"written in {time.perf_counter() - started:.1f}s ({work})")
    builds = {
        "exact": _build_in_child(work / "articles", work / "exact", threshold=chunks + 1),
        "approximate": _build_in_child(work / "articles", work / "approximate", threshold=1),
    }
    done.write_text(json.dumps(builds))
    return builds


def _vector_figures(exact: faiss.Index, approximate: faiss.Index, vectors: np.ndarray) -> None:
    indexes = {"exact": exact, "approximate": approximate}
    for k in (10, 64):  # 10 for recall@10; 64 is what search.py asks FAISS for
        times = {name: np.zeros((len(vectors), REPEATS)) for name in indexes}
        for run in range(REPEATS):
            for i, vector in enumerate(vectors):  # interleaved: both see the machine at the same moment
                for name, index in indexes.items():
                    times[name][i, run] = _timed(index.search, vector[None], k)
        medians = {name: np.median(t, axis=1) for name, t in times.items()}
        for name in indexes:
            print(f"FAISS k={k:<3} {name:<12} all runs p50 {_ms(times[name], 50):6.2f} ms  p99 "
                  f"{_ms(times[name], 99):6.2f} ms | per-query median p50 {_ms(medians[name], 50):6.2f} ms  "
                  f"p99 {_ms(medians[name], 99):6.2f} ms")
        print(f"FAISS k={k:<3} approximate p99 speed-up: ×{_ms(times['exact'], 99) / _ms(times['approximate'], 99):.1f}"
              f" (all runs), ×{_ms(medians['exact'], 99) / _ms(medians['approximate'], 99):.1f} (per-query medians)")
    _, truth = exact.search(vectors, 10)
    _, found = approximate.search(vectors, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    print(f"recall@10 of approximate against exact: {recall:.3f} ({len(vectors)} queries)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it; a later run reuses its builds")
    parser.add_argument("--build-one", nargs=3, metavar=("ARTICLES", "INDEX_DIR", "THRESHOLD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_one:
        articles, index_dir, threshold = args.build_one
        print(json.dumps(build_one(Path(articles), Path(index_dir), int(threshold))))
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    builds = _builds(work, args.chunks)
    tokenizer = Tokenizer(None)
    kbs = {name: KnowledgeBase(work / name, BigramEncoder(), tokenizer) for name in builds}
    for name, kb in kbs.items():
        m = kb.index.manifest
        print(f"{name:<12} build {builds[name]['seconds']:6.1f}s (FAISS {builds[name]['faiss_seconds']:5.1f}s), "
              f"peak memory {builds[name]['peak_rss_mb']} MB; {m['chunks']} chunks, {m['index_type']} "
              f"{m['index_params']}, learned rankers {'on' if m['learned_ranker'] else 'off (too many articles)'}")
    # The loaded indexes are a few hundred thousand long-lived objects: keep the collector off them, as
    # a service that has loaded its index would want too, so its pauses do not land in one index's times.
    gc.collect()
    gc.freeze()
    faiss.omp_set_num_threads(1)
    queries, sources = make_queries(kbs["exact"], args.queries)
    vectors = BigramEncoder().encode(queries)
    exact, approximate = kbs["exact"].index.vectors, kbs["approximate"].index.vectors
    own = np.mean([exact.reconstruct(row) @ vector for row, vector in zip(sources, vectors, strict=True)])
    others = np.random.default_rng(3).integers(0, exact.ntotal, len(queries))
    random_chunk = np.mean([exact.reconstruct(int(row)) @ vector for row, vector in zip(others, vectors, strict=True)])
    print(f"geometry: a query's cosine to the chunk it came from {own:.2f}, to its nearest chunk "
          f"{exact.search(vectors, 1)[0].mean():.2f}, to a random chunk {random_chunk:.2f}")
    _vector_figures(exact, approximate, vectors)

    sample = queries[:200]
    full: dict[str, list[float]] = {name: [] for name in kbs}
    for query in sample:
        for name, kb in kbs.items():
            full[name].append(_timed(kb.search, query, 5))
    for name, times in full.items():
        print(f"KnowledgeBase.search {name:<12} p50 {_ms(np.array(times), 50):6.2f} ms  "
              f"p99 {_ms(np.array(times), 99):6.2f} ms (encode, FAISS, BM25, fusion)")
    bm25 = kbs["exact"].index.bm25
    bm25_times = np.array([_timed(bm25.scores, tokenizer.tokens(q)) for q in sample])
    print(f"BM25 scores over {len(kbs['exact'].index.chunks)} chunks p50 {_ms(bm25_times, 50):6.2f} ms  "
          f"p99 {_ms(bm25_times, 99):6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
