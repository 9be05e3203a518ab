"""The knowledge base's admin API: articles (add, edit, retire, history, diff, rollback), the report of
unanswered questions, and the index's state. Console admins only (agent_console's login and roles);
every change is a version in the database and an entry in the console's audit log.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from knowledge.builder import index_status
from knowledge.editing import Editor
from knowledge.unanswered import report
from knowledge.validation import ID_FORM, MAX_CONTENT
from staff.auth import Admin

router = APIRouter(prefix="/api/v1/knowledge/admin", tags=["knowledge: admin"])

ArticleId = Annotated[str, Path(pattern=f"^{ID_FORM.pattern}$", description="文章 id")]
Note = Annotated[str | None, Field(None, max_length=500, description="why (kept with the version)")]


def get_editor(request: Request) -> Editor:
    state = request.app.state
    return Editor(state.sessionmaker, state.settings.loan_params_path.parent)


EditorDep = Annotated[Editor, Depends(get_editor)]


def _rebuild_soon(request: Request) -> None:
    """This process looks for the change at once; the others at their next tick."""
    watcher = getattr(request.app.state, "knowledge_watcher", None)
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


@router.get("/articles", summary="Live articles (with `include_retired`, retired ones too), latest version each")
async def list_articles(me: Admin, editor: EditorDep, include_retired: bool = False) -> dict:
    return {"articles": await editor.listing(include_retired=include_retired)}


@router.post("/articles", status_code=201, summary="Add an article (version 1)")
async def add_article(me: Admin, editor: EditorDep, body: NewArticle, request: Request) -> dict:
    version = await editor.create(body.content, actor=me.actor, note=body.note)
    _rebuild_soon(request)
    return version


@router.get("/articles/{article_id}", summary="One article's latest (or a given) version, content and diff")
async def show_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, version: Annotated[int | None, Query(ge=1)] = None
) -> dict:
    return await editor.show(article_id, version=version)


@router.put("/articles/{article_id}", summary="Edit: a new version with this content")
async def edit_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, body: ArticleEdit, request: Request
) -> dict:
    version = await editor.edit(body.content, actor=me.actor, article_id=article_id, base_version=body.base_version,
                                note=body.note)
    _rebuild_soon(request)
    return version


@router.post("/articles/{article_id}/retire", summary="Retire: the article leaves the index, its history stays")
async def retire_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, body: Retirement, request: Request
) -> dict:
    version = await editor.retire(article_id, actor=me.actor, note=body.note)
    _rebuild_soon(request)
    return version


@router.post("/articles/{article_id}/rollback", summary="Roll back: a new live version equal to an older one")
async def rollback_article(
    me: Admin, editor: EditorDep, article_id: ArticleId, body: Rollback, request: Request
) -> dict:
    version = await editor.rollback(article_id, to_version=body.to_version, actor=me.actor, note=body.note)
    _rebuild_soon(request)
    return version


@router.get("/articles/{article_id}/history", summary="Every version, oldest first")
async def article_history(me: Admin, editor: EditorDep, article_id: ArticleId) -> dict:
    return {"versions": await editor.history(article_id)}


@router.get("/articles/{article_id}/diff", summary="Unified diff; by default the latest version against the one before")
async def article_diff(
    me: Admin, editor: EditorDep, article_id: ArticleId,
    from_version: Annotated[int | None, Query(ge=1)] = None, to_version: Annotated[int | None, Query(ge=1)] = None,
) -> dict:
    return {"diff": await editor.diff(article_id, from_version=from_version, to_version=to_version)}


@router.get("/report", summary="Unanswered and low-confidence questions, grouped, most frequent first")
async def unanswered_report(
    me: Admin, request: Request, since: datetime | None = None, until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    return await report(request.app.state.sessionmaker, since=since, until=until, limit=limit)


@router.get("/index", summary="The served index (exact or approximate, parameters), newest version, build under way")
async def index_state(me: Admin, editor: EditorDep, request: Request) -> dict:
    state = request.app.state
    return await index_status(state.sessionmaker, editor, getattr(state, "knowledge", None), state.settings.index_dir)
