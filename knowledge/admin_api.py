"""The knowledge base's admin API: articles (add, edit, retire, history, diff, rollback), the report of
unanswered questions, and the index's state. Console admins only (agent_console's login and roles);
every change is a version in the database and an entry in the console's audit log.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from core.deps import SessionsDep, SettingsDep
from core.errors import INVALID_REQUEST, error_responses
from knowledge.builder import IndexWatcher, index_status
from knowledge.deps import EditorDep, LoadedKBDep, WatcherDep
from knowledge.schemas import (
    ArticlesOut,
    ArticleVersion,
    ArticleVersionDetail,
    DiffOut,
    HistoryOut,
    IndexState,
    ReportOut,
)
from knowledge.unanswered import report
from knowledge.validation import ID_FORM, INVALID_CODES, MAX_CONTENT
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, Admin

router = APIRouter(prefix="/api/v1/knowledge/admin", tags=["knowledge: admin"])
ADMIN = (SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST)
CHANGE = (*ADMIN, CSRF_ERRORS)
NOT_FOUND = {404: ("article_not_found",)}

ArticleId = Annotated[str, Path(pattern=f"^{ID_FORM.pattern}$", description="文章 id")]
Note = Annotated[str | None, Field(None, max_length=500, description="why (kept with the version)")]


def _rebuild_soon(watcher: IndexWatcher | None) -> None:
    """This process looks for the change at once; the others at their next tick."""
    if watcher is not None:
        watcher.poke()


class NewArticle(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_CONTENT, description="the whole Markdown file")
    note: Note = None


class ArticleEdit(NewArticle):
    base_version: int | None = Field(None, ge=1, description="the version edited; refused if no longer the latest")


class Retirement(BaseModel):
    note: Note = None


class Rollback(BaseModel):
    to_version: int = Field(ge=1)
    note: Note = None


@router.get("/articles", response_model=ArticlesOut,
            summary="Live articles (with `include_retired`, retired ones too), latest version each",
            responses=error_responses(*ADMIN))
async def list_articles(me: Admin, editor: EditorDep, include_retired: bool = False) -> dict:
    return {"articles": await editor.listing(include_retired=include_retired)}


@router.post("/articles", status_code=201, response_model=ArticleVersion, summary="Add an article (version 1)",
             responses=error_responses(*CHANGE, {409: ("article_exists", "version_conflict"), 422: INVALID_CODES}))
async def add_article(me: Admin, editor: EditorDep, body: NewArticle, watcher: WatcherDep) -> dict:
    version = await editor.create(body.content, actor=me.actor, note=body.note)
    _rebuild_soon(watcher)
    return version


@router.get("/articles/{article_id}", response_model=ArticleVersionDetail,
            summary="One article's latest (or a given) version, content and diff",
            responses=error_responses(*ADMIN, {404: ("article_not_found", "version_not_found")}))
async def show_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, version: Annotated[int | None, Query(ge=1)] = None
) -> dict:
    return await editor.show(article_id, version=version)


@router.put(
    "/articles/{article_id}", response_model=ArticleVersion, summary="Edit: a new version with this content",
    responses=error_responses(*CHANGE, NOT_FOUND, {
        409: ("version_conflict", "article_retired"), 422: ("no_change", "id_mismatch", *INVALID_CODES),
    }),
)
async def edit_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, body: ArticleEdit, watcher: WatcherDep
) -> dict:
    version = await editor.edit(body.content, actor=me.actor, article_id=article_id, base_version=body.base_version,
                                note=body.note)
    _rebuild_soon(watcher)
    return version


@router.post("/articles/{article_id}/retire", response_model=ArticleVersion,
             summary="Retire: the article leaves the index, its history stays",
             responses=error_responses(*CHANGE, NOT_FOUND, {409: ("already_retired", "version_conflict")}))
async def retire_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, body: Retirement, watcher: WatcherDep
) -> dict:
    version = await editor.retire(article_id, actor=me.actor, note=body.note)
    _rebuild_soon(watcher)
    return version


@router.post(
    "/articles/{article_id}/rollback", response_model=ArticleVersion,
    summary="Roll back: a new live version equal to an older one",
    responses=error_responses(*CHANGE, {
        404: ("article_not_found", "version_not_found"), 409: ("version_conflict",),
        422: ("no_change", *INVALID_CODES),
    }),
)
async def rollback_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, body: Rollback, watcher: WatcherDep
) -> dict:
    version = await editor.rollback(article_id, to_version=body.to_version, actor=me.actor, note=body.note)
    _rebuild_soon(watcher)
    return version


@router.get("/articles/{article_id}/history", response_model=HistoryOut, summary="Every version, oldest first",
            responses=error_responses(*ADMIN, NOT_FOUND))
async def article_history(me: Admin, editor: EditorDep, article_id: ArticleId) -> dict:
    return {"versions": await editor.history(article_id)}


@router.get("/articles/{article_id}/diff", response_model=DiffOut,
            summary="Unified diff; by default the latest version against the one before",
            responses=error_responses(*ADMIN, {404: ("article_not_found", "version_not_found")}))
async def article_diff(
    me: Admin, editor: EditorDep, article_id: ArticleId,
    from_version: Annotated[int | None, Query(ge=1)] = None, to_version: Annotated[int | None, Query(ge=1)] = None,
) -> dict:
    return {"diff": await editor.diff(article_id, from_version=from_version, to_version=to_version)}


@router.get("/report", response_model=ReportOut,
            summary="Unanswered and low-confidence questions, grouped, most frequent first",
            responses=error_responses(*ADMIN))
async def unanswered_report(
    me: Admin, sessions: SessionsDep, since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    return await report(sessions, since=since, until=until, limit=limit)


@router.get("/index", response_model=IndexState,
            summary="The served index (exact or approximate, parameters), newest version, build under way",
            responses=error_responses(SIGNED_IN_ERRORS, ROLE_ERRORS))
async def index_state(
    me: Admin, editor: EditorDep, sessions: SessionsDep, settings: SettingsDep, kb: LoadedKBDep
) -> dict:
    return await index_status(sessions, editor, kb, settings.index_dir)
