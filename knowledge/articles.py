"""Knowledge articles: Markdown files with YAML front matter, split into searchable chunks."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from policy.params import render

REQUIRED = ("id", "title", "category", "keywords", "effective_date", "source", "summary")
CATEGORIES = {"提取", "缴存", "账户", "贷款", "服务", "政策"}
_HEADING = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)


class ArticleError(ValueError):
    """A broken article; `code` says which rule it breaks (shown by the admin API and CLI)."""

    def __init__(self, message: str, code: str = "article_invalid") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Section:
    heading: str
    text: str


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    category: str
    keywords: tuple[str, ...]
    effective_date: str
    source: str
    summary: str
    business: str | None
    sections: tuple[Section, ...] = field(default=())
    # Typical citizen phrasings (常见问法): indexed on their own, since a question is most like
    # another question; staff add the ones the unanswered-questions report shows.
    questions: tuple[str, ...] = field(default=())

    def section(self, *names: str) -> Section | None:
        """The first section whose heading contains one of `names` (in the order given)."""
        for name in names:
            for section in self.sections:
                if name in section.heading:
                    return section
        return None


@dataclass(frozen=True)
class Chunk:
    article_id: str
    heading: str  # "" for the article's summary chunk
    text: str     # what is embedded and indexed (carries the title for context)
    snippet: str  # what is shown


def split_front_matter(raw: str, name: str) -> tuple[dict, str]:
    if not raw.startswith("---"):
        raise ArticleError(f"{name}: 缺少 front matter", "front_matter_missing")
    try:
        _, head, body = raw.split("---", 2)
        meta = yaml.safe_load(head) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise ArticleError(f"{name}: front matter 无法解析（{exc}）", "front_matter_invalid") from exc
    if not isinstance(meta, dict):
        raise ArticleError(f"{name}: front matter 必须是键值表", "front_matter_invalid")
    return meta, body


def parse_article(raw: str, name: str, params: dict) -> Article:
    meta, body = split_front_matter(raw, name)
    missing = [key for key in REQUIRED if not meta.get(key)]
    if missing:
        raise ArticleError(f"{name}: 缺少字段 {', '.join(missing)}", "field_missing")
    if meta["category"] not in CATEGORIES:
        raise ArticleError(f"{name}: 未知分类 {meta['category']}", "category_unknown")
    body = render(body, params)
    parts = _HEADING.split(body)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    sections = tuple(Section(heading.strip(), text.strip()) for heading, text in pairs if text.strip())
    effective = meta["effective_date"]
    return Article(
        id=str(meta["id"]),
        title=str(meta["title"]),
        category=str(meta["category"]),
        keywords=tuple(str(k) for k in meta["keywords"]),
        effective_date=effective.isoformat() if isinstance(effective, date) else str(effective),
        source=str(meta["source"]),
        summary=render(str(meta["summary"]).strip(), params),
        business=str(meta["business"]) if meta.get("business") else None,
        sections=sections,
        questions=tuple(str(q).strip() for q in meta.get("questions") or () if str(q).strip()),
    )


def load_articles(directory: Path, params: dict) -> list[Article]:
    articles = [parse_article(p.read_text(encoding="utf-8"), p.name, params) for p in sorted(directory.glob("*.md"))]
    seen: set[str] = set()
    for article in articles:
        if article.id in seen:
            raise ArticleError(f"文章 id 重复：{article.id}", "id_duplicate")
        seen.add(article.id)
    return articles


def chunk_article(article: Article) -> list[Chunk]:
    keywords = " ".join(article.keywords)
    chunks = [Chunk(article.id, "", f"{article.title}\n{keywords}\n{article.summary}", article.summary)]
    chunks += [Chunk(article.id, "", question, article.summary) for question in article.questions]
    for section in article.sections:
        chunks.append(
            Chunk(article.id, section.heading, f"{article.title} {section.heading}\n{section.text}", section.text)
        )
    return chunks


def content_hash(*directories: Path, extra: str = "") -> str:
    """Hash of every file under the given folders: the index is rebuilt only when this changes."""
    digest = hashlib.sha256(extra.encode())
    for directory in directories:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(directory)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
