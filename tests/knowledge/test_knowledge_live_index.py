"""The index follows the live articles: a change is rebuilt in the background, searches running while
updates land never fail nor see half a build, one builder at a time across processes, and the exact or
approximate FAISS index chosen by size."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

from prometheus_client import REGISTRY

from knowledge.builder import IndexWatcher, Outcome
from knowledge.index import Sources, VectorPolicy, build_index, current_build
from knowledge.search import KnowledgeBase
from tests.corpus import ARTICLES, SEAL, article, write_seed
from tests.knowledge.factories import ALICE, BOB, make_builder

ROOT = Path(__file__).resolve().parents[2]


async def test_a_change_is_built_in_the_background_and_searched_without_restart(sessions, tmp_path, encoder,
                                                                                tokenizer):
    builder = make_builder(sessions, tmp_path, encoder, tokenizer)
    built = REGISTRY.get_sample_value("hpf_index_build_seconds_count") or 0.0
    assert await builder.prepare(write_seed(tmp_path / "seed")) == Outcome.BUILT
    assert REGISTRY.get_sample_value("hpf_index_build_seconds_count") == built + 1, "the build's time on /metrics"
    kb = KnowledgeBase(tmp_path / "index", encoder, tokenizer)
    watcher = IndexWatcher(builder, every_s=0.05)
    watcher.start()
    try:
        await builder.editor.create(article("seal", SEAL), actor=ALICE)
        for _ in range(400):
            await asyncio.sleep(0.05)
            kb.reload_if_changed(force=True)
            if "seal" in kb.index.articles:
                break
        assert kb.search("离职了账户会封存吗")[0].article_id == "seal"
        build = current_build(tmp_path / "index")
        # The loop may still be finishing its look; then one more look finds the index current.
        assert await watcher.check() in (None, Outcome.FRESH)
        assert await watcher.check() is None, "nothing changed since: not even a look"
        assert current_build(tmp_path / "index") == build
    finally:
        await watcher.stop()


async def test_searches_never_fail_nor_see_half_a_build_while_updates_land(sessions, tmp_path, encoder, tokenizer):
    builder = make_builder(sessions, tmp_path, encoder, tokenizer)
    await builder.prepare(write_seed(tmp_path / "seed"))
    kb = KnowledgeBase(tmp_path / "index", encoder, tokenizer)
    editor = builder.editor
    changes = [
        lambda: editor.create(article("seal", SEAL), actor=ALICE),
        lambda: editor.edit(article("rates", ARTICLES["rates"], title="公积金贷款利率（新）"), actor=BOB),
        lambda: editor.retire("transfer", actor=BOB),
        lambda: editor.rollback("transfer", to_version=1, actor=ALICE),
    ]
    # Every article set a search may see: the state before the changes and after each one.
    allowed = [{"rent", "rates", "transfer"}, {"rent", "rates", "transfer", "seal"}, {"rent", "rates", "seal"}]
    failures: list[BaseException] = []
    seen_builds: set[str] = set()
    searches = 0
    stop = threading.Event()

    def searcher() -> None:
        nonlocal searches
        while not stop.is_set():
            try:
                kb.reload_if_changed(force=True)
                index = kb.index
                assert index.vectors.ntotal == len(index.chunks) == index.manifest["chunks"], "a whole build"
                assert set(index.articles) == set(index.article_ids) and len(index.articles) == index.manifest[
                    "articles"]
                assert set(index.articles) in allowed, sorted(index.articles)
                assert kb.search("交房租能用公积金吗")[0].article_id == "rent"
                seen_builds.add(index.build)
                searches += 1
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                failures.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        watcher = IndexWatcher(builder, every_s=60)
        for change in changes:
            await change()
            assert await watcher.check() == Outcome.BUILT
    finally:
        await asyncio.sleep(1.2)  # let the searchers reach the last build
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert searches > 0 and len(seen_builds) >= 2, "searches ran across the swaps"
    kb.reload_if_changed(force=True)
    assert kb.index.build == current_build(tmp_path / "index")
    assert set(kb.index.articles) == {"rent", "rates", "transfer", "seal"}
    assert kb.index.articles["rates"]["title"] == "公积金贷款利率（新）"


async def test_only_one_process_builds_at_a_time(database_url, sessions, tmp_path):
    await make_builder(sessions, tmp_path, None, None).editor.import_seeds(write_seed(tmp_path / "seed"))
    start = tmp_path / "start"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    contenders = [
        subprocess.Popen([sys.executable, "-m", "tests.knowledge.build_race", database_url, str(tmp_path),
                          str(start)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for process in contenders:
        assert process.stdout.readline().strip() == "ready"
    start.touch()  # both look at the stale index at the same moment
    outcomes = sorted(process.communicate(timeout=180)[0].split()[-1] for process in contenders)
    assert outcomes in (["built", "busy"], ["built", "fresh"]), outcomes
    assert len([p for p in (tmp_path / "index" / "builds").iterdir() if not p.name.startswith(".")]) == 1


def test_small_indexes_are_exact_and_large_ones_approximate(tmp_path, encoder, tokenizer):
    sources = Sources(write_seed(tmp_path / "seed"), ROOT / "policy" / "params", None)
    chunks = 3 * 3  # three articles: a summary and two sections each
    for threshold, kind in ((chunks + 1, "flat-ip"), (chunks, "hnsw-sq8-ip")):
        index_dir = tmp_path / kind
        build_index(index_dir, sources, encoder, tokenizer, policy=VectorPolicy(threshold=threshold, ef_search=96))
        kb = KnowledgeBase(index_dir, encoder, tokenizer)
        manifest = kb.index.manifest
        assert (manifest["chunks"], manifest["index_type"]) == (chunks, kind)
        assert type(kb.index.vectors).__name__ == {"flat-ip": "IndexFlatIP", "hnsw-sq8-ip": "IndexHNSWSQ"}[kind]
        assert manifest["index_params"]["threshold"] == threshold
        assert kb.search("交房租能用公积金吗")[0].article_id == "rent"
        assert kb.best_section("rent", "要带什么材料").heading == "所需材料"
    approximate = KnowledgeBase(tmp_path / "hnsw-sq8-ip", encoder, tokenizer).index
    assert approximate.manifest["index_params"] == {"threshold": chunks, "m": 48, "ef_construction": 160,
                                                    "ef_search": 96, "storage": "sq8"}
    assert approximate.vectors.hnsw.efSearch == 96
