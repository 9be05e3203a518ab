"""HTTP API of the eligibility and document checklists (the centre's 靶向提示受理条件、及时警示漏误).

The bot (bot/actions/checklist.py) drives a check one question at a time: it posts the answers so far
to `/{case}/next` and gets the next question or the outcome. The rule files are checked when the
service starts (a broken file stops it, naming the file and key) and re-read when the centre edits them.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field

from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.services import services_of
from core.settings import Settings
from core.staff_marks import for_citizens
from policy.checklist_rules import Checklist, Checklists
from policy.deps import ChecklistsDep, checklists_for
from policy.eligibility import AnswerError, Result, next_step, question_body
from policy.schemas import ChecklistsOut, ForArticleOut, MatchOut, NextStep

MAX_ANSWERS = 50
MAX_QUERY = 500


@asynccontextmanager
async def _check_at_start(app: FastAPI) -> AsyncIterator[None]:
    """Refuse to start with a broken rule file rather than tell citizens wrong conditions."""
    checklists_for(services_of(app).get(Settings))
    yield


router = APIRouter(prefix="/api/v1/checklists", tags=["checklists"], lifespan=_check_at_start)


UNAVAILABLE = {503: ("checklists_unavailable",)}


class NextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Values are checked against each question by the engine, which answers with a coded message.
    answers: Annotated[dict[Annotated[str, Field(max_length=64)], Any], Field(max_length=MAX_ANSWERS)] = {}


def _summary(checklist: Checklist) -> dict[str, Any]:
    return {"case": checklist.case, "title": checklist.title, "articles": list(checklist.articles)}


def _case(checklists: Checklists, case: str) -> Checklist:
    checklist = checklists.cases.get(case)
    if checklist is None:
        raise ApiError(404, "unknown_checklist", "没有这项业务的条件自查。", case=case[:64])
    return checklist


@router.get("", response_model=ChecklistsOut, responses=error_responses(UNAVAILABLE))
def list_checklists(checklists: ChecklistsDep) -> dict[str, Any]:
    return {
        "checklists": [
            {**_summary(c), "questions": len(c.questions), "source": c.source}
            for c in checklists.cases.values()
        ]
    }


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=MAX_QUERY, description="the citizen's words")


@router.get("/match", response_model=MatchOut, responses=error_responses(INVALID_REQUEST, UNAVAILABLE))
def match(
    checklists: ChecklistsDep, q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY)]
) -> dict[str, Any]:
    """The cases the citizen's words name, best first: none, one, or several that tie ("买房")."""
    return {"cases": [_summary(checklists.cases[case]) for case in checklists.match(q)]}


@router.post("/match", response_model=MatchOut, responses=error_responses(INVALID_REQUEST, UNAVAILABLE))
def match_posted(checklists: ChecklistsDep, body: MatchRequest) -> dict[str, Any]:
    """`GET /match` with the words in a body, as the bot sends them (citizens' words stay out of URLs)."""
    return match(checklists, body.q)


@router.get("/for-article/{article_id}", response_model=ForArticleOut,
            responses=error_responses(INVALID_REQUEST, UNAVAILABLE))
def for_article(checklists: ChecklistsDep, article_id: str) -> dict[str, Any]:
    """The checklist behind a knowledge article, or null: lets an answer offer the check."""
    case = checklists.by_article.get(article_id)
    return {"article_id": article_id, "checklist": _summary(checklists.cases[case]) if case else None}


def _done(checklist: Checklist, result: Result) -> dict[str, Any]:
    return {
        "done": True,
        **_summary(checklist),
        "outcome": result.outcome,
        "reasons": result.reasons,
        "documents": result.documents,
        "warnings": result.warnings,
        "text": for_citizens(result.text),  # the centre's "待中心确认" notes stay with staff
        "business_link": result.business_link,
        "source": checklist.source,
        "answers": result.answered,
    }


# Only number questions carry `min`, `max` and `unit`: unset keys stay out.
@router.post(
    "/{case}/next", response_model=NextStep, response_model_exclude_unset=True,
    responses=error_responses(INVALID_REQUEST, UNAVAILABLE, {
        404: ("unknown_checklist",), 422: ("invalid_answer", "unknown_question"),
    }),
)
def next_question(case: str, request: NextRequest, checklists: ChecklistsDep) -> dict[str, Any]:
    """The next question for these answers, or the outcome: eligible, not_eligible (with the reasons)
    or review, the documents for this citizen's situation and the warnings that apply."""
    checklist = _case(checklists, case)
    try:
        step = next_step(checklist, request.answers)
    except AnswerError as exc:
        raise ApiError(422, exc.code, exc.message, question=exc.question) from exc
    if isinstance(step, Result):
        return _done(checklist, step)
    return {"done": False, **_summary(checklist), "question": question_body(step)}
