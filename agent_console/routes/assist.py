"""Help while typing: knowledge-base articles for the citizen's last message, and canned replies."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from agent_console.context import ConsoleDep
from agent_console.routes.schemas import CannedOut, SuggestionsOut
from core.errors import INVALID_REQUEST, error_responses
from knowledge.search import IndexNotReady
from staff.auth import SIGNED_IN_ERRORS, CurrentAgent

router = APIRouter(prefix="/api/v1/console", tags=["console: assist"])
CANNED_FILE = Path(__file__).resolve().parent.parent / "canned.yml"


@lru_cache(maxsize=1)
def _canned() -> list[dict]:
    data = yaml.safe_load(CANNED_FILE.read_text(encoding="utf-8")) or []
    return [{"title": str(item["title"]), "text": str(item["text"])} for item in data]


@router.get("/canned", response_model=CannedOut, summary="Canned replies an agent can insert and edit",
            responses=error_responses(SIGNED_IN_ERRORS))
async def canned(me: CurrentAgent) -> dict:
    return {"replies": _canned()}


@router.get("/suggestions", response_model=SuggestionsOut,
            summary="Knowledge-base articles for a citizen's message, with their business links",
            responses=error_responses(SIGNED_IN_ERRORS, INVALID_REQUEST))
async def suggestions(
    me: CurrentAgent, console: ConsoleDep, q: Annotated[str, Query(min_length=1, max_length=500)]
) -> dict:
    kb = console.knowledge
    if kb is None or not q.strip():
        return {"articles": []}
    try:
        hits = await run_in_threadpool(kb.search, q.strip(), 3)
    except IndexNotReady:
        return {"articles": []}
    articles = []
    for hit in hits:
        article = kb.article(hit.article_id) or {}
        articles.append({
            "article_id": hit.article_id, "title": hit.title, "score": round(hit.score, 3),
            "summary": article.get("summary") or hit.snippet, "business_link": article.get("business_link"),
        })
    return {"articles": articles}
