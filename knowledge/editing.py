"""Adding, editing, retiring and rolling back articles: the one service behind the admin CLI and API.

Source of truth: the database. Every change appends a version (author, time, action, the whole
Markdown file, a unified diff against the version before); the live article is the latest version
unless that one retires it. The files in knowledge/articles/ are the seed: each new or changed file
is imported as a version by author "seed" when the service (or `knowledge.ingest`) starts, so a
developer's change to the repository still arrives, while a file left alone never undoes a
staff edit. The index is built from the live versions (knowledge/builder.py).
"""
from __future__ import annotations

import difflib
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import utcnow
from core.errors import ApiError
from knowledge.articles import split_front_matter
from knowledge.models import Action, ArticleVersion
from knowledge.validation import ArticleInvalid, validate
from policy.params import load_params
from staff import audit

log = logging.getLogger(__name__)
SEED_AUTHOR = "seed"


def _hash(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def _diff(article_id: str, before: ArticleVersion | None, after: str, version: int) -> str:
    old = before.content if before is not None else ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"{article_id}.md@v{before.version}" if before is not None else "/dev/null",
        tofile=f"{article_id}.md@v{version}",
    )
    # A last line without a newline would glue itself to the next header when printed.
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _title_and_category(content: str) -> tuple[str, str]:
    try:
        meta, _ = split_front_matter(content, "")
    except ValueError:
        return "", ""
    return str(meta.get("title", "")), str(meta.get("category", ""))


def summary(row: ArticleVersion) -> dict:
    title, category = _title_and_category(row.content)
    return {
        "article_id": row.article_id,
        "version": row.version,
        "action": row.action,
        "author": row.author,
        "created_at": row.created_at.isoformat(),
        "retired": row.retired,
        "note": row.note,
        "restored_from": row.restored_from,
        "title": title,
        "category": category,
    }


@dataclass(frozen=True)
class LiveArticles:
    """What the index is built from: the live content of each article, and the newest version id
    (a number that grows with every change, so a changed knowledge base is one comparison away)."""

    revision: int
    contents: dict[str, str]


class Editor:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], params_dir: Path) -> None:
        self._sessions = sessions
        self._params_dir = params_dir

    # -- changes ------------------------------------------------------------------------------------

    async def create(self, content: str, *, actor: audit.Actor, note: str | None = None) -> dict:
        article = validate(content, load_params(self._params_dir))
        async with self._sessions() as session:
            if await _latest(session, article.id) is not None:
                raise ApiError(409, "article_exists",
                               f"文章 {article.id} 已存在；修改请用编辑，恢复已下线的文章请用回滚。")
            row = await _append(session, article.id, None, content, Action.CREATE, actor, note)
            return summary(row)

    async def edit(
        self, content: str, *, actor: audit.Actor, article_id: str | None = None, base_version: int | None = None,
        note: str | None = None,
    ) -> dict:
        """A new version of an existing article. `article_id`, when given (the API's path), must be
        the one in the front matter; `base_version`, when given, must still be the latest."""
        article = validate(content, load_params(self._params_dir))
        if article_id is not None and article.id != article_id:
            raise ArticleInvalid("id_mismatch",
                                 f"front matter 中的 id（{article.id}）与要修改的文章（{article_id}）不一致。")
        async with self._sessions() as session:
            latest = await _existing(session, article.id)
            _check_base(latest, base_version)
            if latest.retired:
                raise ApiError(409, "article_retired", f"文章 {article.id} 已下线；如需恢复，请回滚到某个历史版本。")
            if latest.content_hash == _hash(content):
                raise ApiError(422, "no_change", "内容与当前版本相同，没有保存新版本。")
            row = await _append(session, article.id, latest, content, Action.EDIT, actor, note)
            return summary(row)

    async def retire(self, article_id: str, *, actor: audit.Actor, note: str | None = None) -> dict:
        async with self._sessions() as session:
            latest = await _existing(session, article_id)
            if latest.retired:
                raise ApiError(409, "already_retired", f"文章 {article_id} 已经下线。")
            row = await _append(session, article_id, latest, latest.content, Action.RETIRE, actor, note, retired=True)
            return summary(row)

    async def rollback(self, article_id: str, *, to_version: int, actor: audit.Actor, note: str | None = None) -> dict:
        """A new, live version whose content is that of `to_version` (history is never rewritten)."""
        async with self._sessions() as session:
            latest = await _existing(session, article_id)
            target = await _version(session, article_id, to_version)
            if not latest.retired and latest.content_hash == target.content_hash:
                raise ApiError(422, "no_change", f"当前版本的内容已与第 {to_version} 版相同。")
            # The parameters may have changed since: an old text must still render today.
            validate(target.content, load_params(self._params_dir))
            row = await _append(session, article_id, latest, target.content, Action.ROLLBACK, actor, note,
                                restored_from=to_version)
            return summary(row)

    async def import_seeds(self, folder: Path) -> list[dict]:
        """Import each file of `folder` that is new or changed since it was last imported."""
        for attempt in range(2):
            try:
                return await self._import_seeds(folder)
            except IntegrityError:
                # Another process imported the same file at the same moment; a second look finds it.
                if attempt:
                    raise
        return []

    async def _import_seeds(self, folder: Path) -> list[dict]:
        params = load_params(self._params_dir)
        imported, seen = [], set()
        async with self._sessions() as session:
            for path in sorted(folder.glob("*.md")):
                content = path.read_text(encoding="utf-8")
                try:
                    article = validate(content, params)
                except ArticleInvalid as exc:
                    log.error("seed %s not imported: %s", path.name, exc.message)
                    continue
                if article.id in seen:  # two files, one id: importing both would flip between them
                    log.error("seed %s not imported: id %s is taken by another file", path.name, article.id)
                    continue
                seen.add(article.id)
                latest = await _latest(session, article.id)
                seeded = await session.scalar(
                    select(ArticleVersion.content_hash).where(
                        ArticleVersion.article_id == article.id, ArticleVersion.action == Action.SEED
                    ).order_by(ArticleVersion.version.desc()).limit(1)
                )
                digest = _hash(content)
                if digest == seeded or (latest is not None and not latest.retired and latest.content_hash == digest):
                    continue
                if latest is not None and latest.author != SEED_AUTHOR:
                    log.warning("seed %s supersedes version %d by %s", path.name, latest.version, latest.author)
                row = await _append(session, article.id, latest, content, Action.SEED, None,
                                    f"导入仓库文件 {path.name}", commit=False)
                imported.append(summary(row))
            await session.commit()
        return imported

    # -- reading ------------------------------------------------------------------------------------

    async def listing(self, *, include_retired: bool = False) -> list[dict]:
        async with self._sessions() as session:
            rows = await _latest_rows(session)
        return [summary(row) for row in rows if include_retired or not row.retired]

    async def show(self, article_id: str, *, version: int | None = None) -> dict:
        async with self._sessions() as session:
            row = await (_version(session, article_id, version) if version else _existing(session, article_id))
        return {**summary(row), "content": row.content, "diff": row.diff}

    async def history(self, article_id: str) -> list[dict]:
        async with self._sessions() as session:
            rows = (await session.scalars(
                select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(ArticleVersion.version)
            )).all()
        if not rows:
            raise _not_found(article_id)
        return [summary(row) for row in rows]

    async def diff(self, article_id: str, *, from_version: int | None = None, to_version: int | None = None) -> str:
        """Unified diff between two versions; by default, the latest against the one before it."""
        async with self._sessions() as session:
            after = await (_version(session, article_id, to_version) if to_version else _existing(session, article_id))
            if from_version is None:
                return after.diff
            before = await _version(session, article_id, from_version)
        return _diff(article_id, before, after.content, after.version)

    async def live(self) -> LiveArticles:
        async with self._sessions() as session:
            rows = await _latest_rows(session)
        # Every version id belongs to some article, so the newest of the latest rows is the newest of all.
        revision = max((row.id for row in rows), default=0)
        return LiveArticles(revision, {row.article_id: row.content for row in rows if not row.retired})

    async def revision(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.max(ArticleVersion.id))) or 0)


# -- helpers ----------------------------------------------------------------------------------------

def _not_found(article_id: str) -> ApiError:
    return ApiError(404, "article_not_found", f"没有找到文章 {article_id}。")


def _check_base(latest: ArticleVersion, base_version: int | None) -> None:
    if base_version is not None and base_version != latest.version:
        raise ApiError(
            409, "version_conflict",
            f"文章已被修改（当前第 {latest.version} 版，您基于第 {base_version} 版）；请基于最新版本重新修改。",
        )


async def _latest(session: AsyncSession, article_id: str) -> ArticleVersion | None:
    return await session.scalar(
        select(ArticleVersion).where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version.desc()).limit(1)
    )


async def _existing(session: AsyncSession, article_id: str) -> ArticleVersion:
    latest = await _latest(session, article_id)
    if latest is None:
        raise _not_found(article_id)
    return latest


async def _version(session: AsyncSession, article_id: str, version: int) -> ArticleVersion:
    row = await session.scalar(
        select(ArticleVersion).where(ArticleVersion.article_id == article_id, ArticleVersion.version == version)
    )
    if row is None:
        raise ApiError(404, "version_not_found", f"文章 {article_id} 没有第 {version} 版。")
    return row


async def _latest_rows(session: AsyncSession) -> list[ArticleVersion]:
    newest = (
        select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("version"))
        .group_by(ArticleVersion.article_id).subquery()
    )
    query = select(ArticleVersion).join(
        newest, (ArticleVersion.article_id == newest.c.article_id) & (ArticleVersion.version == newest.c.version)
    ).order_by(ArticleVersion.article_id)
    return list((await session.scalars(query)).all())


async def _append(
    session: AsyncSession, article_id: str, latest: ArticleVersion | None, content: str, action: Action,
    actor: audit.Actor | None, note: str | None, *, retired: bool = False, restored_from: int | None = None,
    commit: bool = True,
) -> ArticleVersion:
    version = (latest.version if latest is not None else 0) + 1
    row = ArticleVersion(
        article_id=article_id, version=version, action=action, author=actor.name if actor else SEED_AUTHOR,
        created_at=utcnow(),
        content=content, content_hash=_hash(content), retired=retired, note=note, restored_from=restored_from,
        diff=_diff(article_id, latest, content, version),
    )
    session.add(row)
    if actor is not None:
        audit.record(session, actor, f"knowledge_{action}", f"article:{article_id}", version=version, note=note)
    if commit:
        try:
            await session.commit()
        except IntegrityError:
            raise ApiError(409, "version_conflict", f"文章 {article_id} 刚被他人修改；请查看最新版本后重试。") from None
    return row
