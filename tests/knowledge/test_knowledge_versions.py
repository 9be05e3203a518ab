"""Versioned articles in the database: add, edit, retire, roll back, history and diffs with their
authors, validation that changes nothing, the seed import, and history the database keeps append-only."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from core.errors import ApiError
from knowledge.editing import Editor
from knowledge.models import ArticleVersion
from staff.models import AuditEntry
from tests.corpus import ARTICLES, SEAL, article, write_seed
from tests.knowledge.factories import ALICE, BOB

PARAMS = Path(__file__).resolve().parents[2] / "policy" / "params"


@pytest.fixture
def editor(sessions) -> Editor:
    return Editor(sessions, PARAMS)


async def count_versions(sessions) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ArticleVersion)))


async def test_every_change_is_a_version_with_author_action_content_and_diff(editor, sessions):
    first = await editor.create(article("seal"), actor=ALICE, note="新文章")
    edited = await editor.edit(article("seal", summary="离职后账户封存，半年后可提取。"), actor=BOB, base_version=1)
    retired = await editor.retire("seal", actor=ALICE, note="政策取消")

    assert (first["version"], first["action"], first["author"], first["note"]) == (1, "create", "alice", "新文章")
    assert (edited["version"], edited["action"], edited["author"]) == (2, "edit", "bob")
    assert (retired["version"], retired["action"], retired["retired"]) == (3, "retire", True)
    history = await editor.history("seal")
    assert [(v["version"], v["action"], v["author"]) for v in history] == [
        (1, "create", "alice"), (2, "edit", "bob"), (3, "retire", "alice")
    ]
    assert history[0]["created_at"] <= history[1]["created_at"] <= history[2]["created_at"]

    v2 = await editor.show("seal", version=2)
    assert "半年后可提取" in v2["content"] and v2["content"].startswith("---\nid: seal")
    assert "-summary: 离职后账户封存。\n+summary: 离职后账户封存，半年后可提取。\n" in v2["diff"]
    assert v2["diff"].startswith("--- seal.md@v1\n+++ seal.md@v2\n")
    assert (await editor.show("seal", version=1))["diff"].startswith("--- /dev/null\n+++ seal.md@v1\n")
    assert (await editor.diff("seal", from_version=1, to_version=2)) == v2["diff"]
    assert await editor.listing() == [] and [a["article_id"] for a in await editor.listing(include_retired=True)] == [
        "seal"
    ]
    async with sessions() as session:
        audit = (await session.execute(
            select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.target == "article:seal").order_by(AuditEntry.id)
        )).all()
    assert [tuple(a) for a in audit] == [
        ("alice", "knowledge_create"), ("bob", "knowledge_edit"), ("alice", "knowledge_retire")
    ]


async def test_rollback_is_a_new_live_version_equal_to_the_old_one(editor):
    await editor.create(article("seal"), actor=ALICE)
    await editor.edit(article("seal", title="账户封存（改错了）"), actor=BOB)
    await editor.retire("seal", actor=BOB)

    restored = await editor.rollback("seal", to_version=1, actor=ALICE, note="恢复原文")

    assert (restored["version"], restored["action"], restored["restored_from"], restored["retired"]) == (
        4, "rollback", 1, False
    )
    assert (await editor.show("seal"))["content"] == (await editor.show("seal", version=1))["content"]
    assert [v["action"] for v in await editor.history("seal")] == ["create", "edit", "retire", "rollback"]
    assert "-title: 账户封存（改错了）\n+title: 账户封存\n" in (await editor.show("seal"))["diff"]
    assert [a["title"] for a in await editor.listing()] == ["账户封存"]
    with pytest.raises(ApiError) as same:
        await editor.rollback("seal", to_version=1, actor=ALICE)
    assert same.value.code == "no_change"
    with pytest.raises(ApiError) as missing:
        await editor.rollback("seal", to_version=9, actor=ALICE)
    assert (missing.value.status, missing.value.code) == (404, "version_not_found")


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("没有 front matter 的正文", "front_matter_missing"),
        ("---\nid: [unclosed\n---\n正文", "front_matter_invalid"),
        (article("seal").replace("source: 测试来源\n", ""), "field_missing"),
        (article("seal", category="天气"), "category_unknown"),
        (article("seal", summary="最多{{loan.caps.nothing|wan}}。"), "placeholder_invalid"),
        (article("seal", summary="最多{{loan.caps.single|bogus}}。"), "placeholder_invalid"),
        (article("Seal Article"), "id_invalid"),
        (article("seal", keywords="封存").replace("keywords: [封存]", "keywords: 封存"), "field_invalid"),
        (article("seal").replace("effective_date: 2026-01-01", "effective_date: 去年"), "field_invalid"),
    ],
)
async def test_a_bad_article_gets_a_coded_chinese_error_and_changes_nothing(editor, sessions, content, code):
    await editor.create(article("seal"), actor=ALICE)
    for change in (editor.create, editor.edit):
        with pytest.raises(ApiError) as error:
            await change(content, actor=BOB)
        assert (error.value.status, error.value.code) == (422, code)
        assert error.value.message.startswith("文章未通过检查：") and any("\u4e00" <= c <= "\u9fff" for c in error.value.message)
    assert await count_versions(sessions) == 1


async def test_conflicts_and_impossible_changes_are_refused(editor, sessions):
    await editor.create(article("seal"), actor=ALICE)
    await editor.edit(article("seal", title="账户封存（新）"), actor=ALICE)
    refusals = {
        "article_exists": editor.create(article("seal"), actor=BOB),
        "version_conflict": editor.edit(article("seal", title="基于旧版"), actor=BOB, base_version=1),
        "no_change": editor.edit(article("seal", title="账户封存（新）"), actor=BOB),
        "id_mismatch": editor.edit(article("seal"), actor=BOB, article_id="other"),
        "article_not_found": editor.retire("nothing", actor=BOB),
    }
    for code, attempt in refusals.items():
        with pytest.raises(ApiError) as error:
            await attempt
        assert error.value.code == code
    await editor.retire("seal", actor=BOB)
    for code, attempt in {"already_retired": editor.retire("seal", actor=BOB),
                          "article_retired": editor.edit(article("seal", title="再改"), actor=BOB)}.items():
        with pytest.raises(ApiError) as error:
            await attempt
        assert error.value.code == code
    assert await count_versions(sessions) == 3


async def test_the_seed_is_imported_once_and_repository_changes_arrive_as_new_versions(editor, tmp_path):
    seed = write_seed(tmp_path / "seed")
    imported = await editor.import_seeds(seed)
    assert sorted(v["article_id"] for v in imported) == sorted(ARTICLES)
    assert {(v["version"], v["action"], v["author"]) for v in imported} == {(1, "seed", "seed")}
    assert await editor.import_seeds(seed) == [], "an unchanged seed is not imported again"

    await editor.edit(article("rent", ARTICLES["rent"], title="租房提取（工作人员修改）"), actor=ALICE)
    assert await editor.import_seeds(seed) == [], "a file left alone never undoes a staff edit"
    assert (await editor.show("rent"))["author"] == "alice"

    (seed / "rates.md").write_text(article("rates", ARTICLES["rates"], title="贷款利率（仓库更新）"), encoding="utf-8")
    (seed / "seal.md").write_text(article("seal", SEAL), encoding="utf-8")
    (seed / "broken.md").write_text("no front matter", encoding="utf-8")
    (seed / "zz-transfer.md").write_text(article("transfer", ARTICLES["transfer"], title="重复的 id"),
                                           encoding="utf-8")
    again = await editor.import_seeds(seed)
    assert sorted((v["article_id"], v["version"]) for v in again) == [("rates", 2), ("seal", 1)]
    assert await editor.import_seeds(seed) == []
    assert "贷款利率（仓库更新）" in (await editor.show("rates"))["content"]


async def test_seed_imports_from_two_processes_at_once_make_one_version(sessions, tmp_path):
    import asyncio

    seed = write_seed(tmp_path / "seed")
    results = await asyncio.gather(*(Editor(sessions, PARAMS).import_seeds(seed) for _ in range(2)))
    assert sum(len(r) for r in results) == len(ARTICLES)
    assert [v["version"] for v in await Editor(sessions, PARAMS).listing()] == [1, 1, 1]


async def test_the_database_refuses_to_rewrite_history(editor, sessions):
    await editor.create(article("seal"), actor=ALICE)
    for statement in (update(ArticleVersion).values(author="mallory"), delete(ArticleVersion)):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
            await session.rollback()
    assert [v["author"] for v in await editor.history("seal")] == ["alice"]


async def test_live_articles_and_revision_follow_every_change(editor):
    assert (await editor.live()).revision == 0
    await editor.create(article("seal"), actor=ALICE)
    await editor.create(article("rent", ARTICLES["rent"]), actor=ALICE)
    first = await editor.live()
    assert sorted(first.contents) == ["rent", "seal"] and first.revision == await editor.revision()
    await editor.retire("seal", actor=BOB)
    second = await editor.live()
    assert sorted(second.contents) == ["rent"] and second.revision > first.revision
