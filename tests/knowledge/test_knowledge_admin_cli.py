"""`python -m knowledge.admin`: the same changes as the API, on the service's database (DATABASE_URL)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import get_settings
from knowledge import admin
from knowledge.editing import Editor
from knowledge.unanswered import Miss, MissKind, record
from tests.corpus import SEAL, article

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch, capsys):
    """Run the CLI's main() on the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()

    async def run(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(admin.main, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    get_settings.cache_clear()


async def test_articles_are_changed_versioned_and_rolled_back_from_the_command_line(cli, sessions, tmp_path):
    draft = tmp_path / "seal.md"
    draft.write_text(article("seal", SEAL), encoding="utf-8")
    code, out, _ = await cli("--author", "alice", "add", "--file", str(draft), "--note", "新文章")
    assert code == 0 and out.startswith("v1 ") and "create" in out and "alice" in out and "新文章" in out
    draft.write_text(article("seal", SEAL, summary="离职后账户封存，可以转移。"), encoding="utf-8")
    assert (await cli("--author", "bob", "edit", "--file", str(draft), "--base-version", "1"))[0] == 0
    assert (await cli("--author", "carol", "retire", "seal"))[0] == 0
    code, out, _ = await cli("--author", "dave", "rollback", "seal", "--to", "2")
    assert code == 0 and out.startswith("v4 ") and "rollback ← v2" in out

    code, out, _ = await cli("history", "seal")
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["v1", "v2", "v3", "v4"]
    assert ["alice" in lines[0], "bob" in lines[1], "carol" in lines[2] and "已下线" in lines[2], "dave" in lines[3]] == [
        True] * 4
    code, out, _ = await cli("diff", "seal", "--from", "1", "--to", "2")
    assert out.startswith("--- seal.md@v1\n+++ seal.md@v2\n") and "+summary: 离职后账户封存，可以转移。" in out
    assert (await cli("show", "seal"))[1] == article("seal", SEAL, summary="离职后账户封存，可以转移。")
    assert (await cli("show", "seal", "--version", "1"))[1] == article("seal", SEAL)
    code, out, _ = await cli("list")
    assert out.split()[:2] == ["seal", "v4"]

    # The service reads what the CLI wrote: one database.
    history = await Editor(sessions, ROOT / "policy" / "params").history("seal")
    assert [(v["author"], v["action"]) for v in history] == [
        ("alice", "create"), ("bob", "edit"), ("carol", "retire"), ("dave", "rollback")]


async def test_refusals_are_coded_chinese_errors_with_a_failing_exit(cli, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text(article("seal", SEAL, category="天气"), encoding="utf-8")
    code, out, err = await cli("add", "--file", str(bad))
    assert (code, out) == (1, "") and err.startswith("错误 [category_unknown]：文章未通过检查")
    code, _, err = await cli("retire", "nothing")
    assert code == 1 and "article_not_found" in err and "没有找到文章 nothing" in err
    code, _, err = await cli("add", "--file", str(tmp_path / "missing.md"))
    assert code == 1 and "file_unreadable" in err
    assert (await cli("list", "--all"))[1] == ""


async def test_the_report_from_the_command_line(cli, sessions):
    for question in ("公积金能交物业费吗", "物业费能用公积金交吗", "明天下雨吗"):
        await record(sessions, Miss(question, MissKind.NONE, 0.05, None, None))
    code, out, _ = await cli("report", "--json")
    data = json.loads(out)
    assert code == 0 and data["total"] == 3 and [g["count"] for g in data["groups"]] == [2, 1]
    code, out, _ = await cli("report", "--since", "2000-01-01", "--until", "2000-01-02")
    assert code == 0 and "0 个问题" in out
    code, out, _ = await cli("report")
    first, second = out.split("\n\n")[1:3]
    assert first.startswith("1. ×2  ") and "公积金能交物业费吗" in first and "物业费能用公积金交吗" in first
    assert second.startswith("2. ×1  明天下雨吗")


def test_the_module_runs_and_explains_itself():
    done = subprocess.run([sys.executable, "-m", "knowledge.admin", "--help"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0
    for command in admin.COMMANDS:
        assert command in done.stdout
