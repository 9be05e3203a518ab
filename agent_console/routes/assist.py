"""Help while typing: knowledge-base articles for the citizen's last message, and canned replies."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from agent_console import conversations
from agent_console.context import Console, ConsoleDep
from agent_console.glance import real_question
from agent_console.routes.schemas import CannedOut, SuggestionsOut
from conversations.models import Author, Conversation
from core.errors import INVALID_REQUEST, ApiError, error_responses
from knowledge.search import IndexNotReady
from staff.auth import SIGNED_IN_ERRORS, CurrentAgent, Me

router = APIRouter(prefix="/api/v1/console", tags=["console: assist"])
CANNED_FILE = Path(__file__).resolve().parent.parent / "canned.yml"
QUESTION_LOOKBACK = 50  # messages searched back for the citizen's real question


@lru_cache(maxsize=1)
def _canned() -> list[dict]:
    data = yaml.safe_load(CANNED_FILE.read_text(encoding="utf-8")) or []
    return [{"title": str(item["title"]), "text": str(item["text"])} for item in data]


@router.get("/canned", response_model=CannedOut, summary="Canned replies an agent can insert and edit",
            responses=error_responses(SIGNED_IN_ERRORS))
async def canned(me: CurrentAgent) -> dict:
    return {"replies": _canned()}


async def _question_of(console: Console, me: Me, conversation_id: str) -> str | None:
    """The conversation's last real question (a plain "转人工" is skipped), for an agent who may read it."""
    async with console.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise ApiError(404, "conversation_not_found", "会话不存在。")
        if not await conversations.may_read(session, me, conversation):
            raise ApiError(403, "not_your_conversation", "该会话不在您的接待中，无法查看。")
    history = await console.hub.history(conversation_id, limit=QUESTION_LOOKBACK)
    return real_question(m.text for m in history if m.author == Author.CITIZEN)


@router.get("/suggestions", response_model=SuggestionsOut,
            summary="Knowledge-base articles for a citizen's question (q, or a conversation's last real "
                    "question), with their business links",
            responses=error_responses(SIGNED_IN_ERRORS, INVALID_REQUEST, {
                403: ("not_your_conversation",), 404: ("conversation_not_found",),
                422: ("question_required",),
            }))
async def suggestions(
    me: CurrentAgent, console: ConsoleDep,
    q: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    conversation_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = None,
) -> dict:
    if (q is None) == (conversation_id is None):
        raise ApiError(422, "question_required", "请给出问题（q）或会话（conversation_id）之一。")
    if conversation_id is not None:
        q = await _question_of(console, me, conversation_id)
    kb = console.knowledge
    if kb is None or not q or not q.strip():
        return {"articles": [], "question": q}
    try:
        hits = await run_in_threadpool(kb.search, q.strip(), 3)
    except IndexNotReady:
        return {"articles": [], "question": q}
    articles = []
    for hit in hits:
        article = kb.article(hit.article_id) or {}
        articles.append({
            "article_id": hit.article_id, "title": hit.title, "score": round(hit.score, 3),
            "summary": article.get("summary") or hit.snippet, "business_link": article.get("business_link"),
        })
    return {"articles": articles, "question": q}
