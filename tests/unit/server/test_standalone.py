"""The repository stands alone: no file points at documents outside it or at a tracker's issue numbers.
The facts the code depends on are in docs/ (policy.md, platform.md), which the README links."""
from __future__ import annotations

import os
import re
from pathlib import Path

from tests.conftest import ROOT

SUFFIXES = {".py", ".yml", ".yaml", ".sh", ".toml", ".ini", ".md", ".html", ".js", ".css", ".sql", ".conf", ".txt"}
NAMES = {"Makefile", "Dockerfile.service", "Dockerfile.bot", ".env.example"}
# Not ours, or not source: environments, caches, data, trained models.
SKIP_DIRS = {".git", "data", "models", "__pycache__", "node_modules", "results"}
THIS_FILE = Path(__file__).resolve()

# "issue 2", "issue #12", "(#12)", "see #123"; not colours ("color: #777", "#3ddc84") nor HTML entities.
ISSUE_NUMBER = re.compile(r"\bissue\s*#?\s*\d|(?<![\w&#/:])(?<!: )#\d{1,5}(?![\w-])", re.IGNORECASE)
OUTSIDE = re.compile(r"\.\./shared|PLATFORM-NOTES|\bDOMAIN\.md|\bDESIGN\.md|\bSTYLE\.md")


def repository_files() -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            if (path.suffix in SUFFIXES or name in NAMES) and path.resolve() != THIS_FILE:
                found.append(path)
    return found


def _offences(pattern: re.Pattern[str]) -> list[str]:
    offences = []
    for path in repository_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if pattern.search(line):
                offences.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    return offences


def test_the_walk_sees_the_product():
    names = {str(p.relative_to(ROOT)) for p in repository_files()}
    assert {"core/settings.py", "bot/domain.yml", "scripts/common.sh", "README.md", "docs/policy.md"} <= names
    assert ".env.example" in names and not any(n.startswith((".venv", ".git/")) for n in names)


def test_no_file_cites_an_issue_number():
    assert not _offences(ISSUE_NUMBER)


def test_no_file_points_at_documents_outside_the_repository():
    assert not _offences(OUTSIDE)


def test_markdown_links_stay_inside_the_repository():
    outside = []
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)]+)\)", path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "#")):
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            if ROOT not in resolved.parents or not resolved.exists():
                outside.append(f"{path.relative_to(ROOT)}: {target}")
    assert not outside


def test_the_readme_links_the_facts_the_code_depends_on():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("docs/policy.md", "docs/platform.md"):
        assert f"]({doc})" in readme and (ROOT / doc).is_file(), doc
