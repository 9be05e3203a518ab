"""HTTP API of the knowledge base: search, composed answers (used by the bot's actions) and articles."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.deps import FromTheBot, SessionsDep, SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.settings import Settings
from knowledge.answer import Answerer
from knowledge.deps import KBDep
from knowledge.schemas import ArticleOut
from knowledge.search import IndexNotReady
from knowledge.unanswered import SearchObserver, miss_of, record

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])

MAX_QUERY = 500
NOT_READY = {503: ("index_not_ready",)}
ASKED = (INVALID_REQUEST, NOT_READY, {422: ("empty_query",)})


def get_observer(kb: KBDep) -> SearchObserver:
    return SearchObserver(kb)


def get_answerer(settings: SettingsDep, observer: Annotated[SearchObserver, Depends(get_observer)]) -> Answerer:
    # The answerer searches through the observer (the same one per request), which keeps the best hit
    # for the report of unanswered questions.
    return Answerer(observer, settings.hotline)


ObserverDep = Annotated[SearchObserver, Depends(get_observer)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
QueryText = Annotated[str, Query(min_length=1, max_length=MAX_QUERY, description="公民的问题原文")]


class SearchResult(BaseModel):
    article_id: str
    title: str
    score: float
    snippet: str


class SearchResponse(BaseModel):
    results: list[SearchResult]


class AnswerResponse(BaseModel):
    status: str
    text: str
    article_id: str | None
    buttons: list[dict]
    links: list[dict]
    sources: list[dict]
    explain: dict = Field(
        default_factory=dict,
        description="why: decision, rule, top candidates {article, title, score, confidence}, not_ours, thresholds",
    )


def _blank_check(q: str) -> str:
    if not q.strip():
        raise ApiError(422, "empty_query", "请输入要查询的问题。")
    return q.strip()


@router.get("/search", response_model=SearchResponse, responses=error_responses(*ASKED))
def search(kb: KBDep, q: QueryText, k: Annotated[int, Query(ge=1, le=20)] = 5) -> SearchResponse:
    try:
        hits = kb.search(_blank_check(q), k=k)
    except IndexNotReady as exc:
        raise ApiError(503, "index_not_ready", "知识库正在准备中，请稍后再试。") from exc
    return SearchResponse(results=[SearchResult(**{f: getattr(h, f) for f in SearchResult.model_fields}) for h in hits])


class AnswerRequest(BaseModel):
    """The bot's question in a body: citizens' words stay out of URLs, so out of access logs."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1, max_length=MAX_QUERY, description="公民的问题原文")
    intent: str | None = Field(None, max_length=64, description="the bot's intent")
    confidence: float = Field(0.0, ge=0, le=1, description="the bot's confidence in `intent`")
    topic: str | None = Field(None, max_length=128, description="article being discussed")


@router.post("/answer", response_model=AnswerResponse, responses=error_responses(*ASKED))
def answer_posted(
    settings: SettingsDep, sessions: SessionsDep, background: BackgroundTasks, answerer: AnswererDep,
    observer: ObserverDep, body: AnswerRequest, is_bot: FromTheBot,
) -> AnswerResponse:
    """Answered for anyone; reported as unanswered only when the bot asks for a citizen (X-Bot-Key), so
    nobody can fill the report from outside."""
    return _answer(settings, sessions, background, answerer, observer, body, report_misses=is_bot)


@router.get("/answer", response_model=AnswerResponse, responses=error_responses(*ASKED))
def answer(
    settings: SettingsDep,
    sessions: SessionsDep,
    background: BackgroundTasks,
    answerer: AnswererDep,
    observer: ObserverDep,
    q: QueryText,
    intent: Annotated[str | None, Query(max_length=64, description="the bot's intent")] = None,
    confidence: Annotated[float, Query(ge=0, le=1, description="the bot's confidence in `intent`")] = 0.0,
    topic: Annotated[str | None, Query(max_length=128, description="article being discussed")] = None,
) -> AnswerResponse:
    """The same as `POST /answer`, for a person trying questions by hand; programs use POST. What is tried
    by hand is nobody's conversation, so it never enters the report of unanswered questions."""
    body = AnswerRequest(q=q, intent=intent, confidence=confidence, topic=topic)
    return _answer(settings, sessions, background, answerer, observer, body, report_misses=False)


def _answer(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], background: BackgroundTasks, answerer: Answerer,
    observer: SearchObserver, body: AnswerRequest, *, report_misses: bool,
) -> AnswerResponse:
    question = _blank_check(body.q)
    intent = body.intent
    result = answerer.answer(question, intent=intent, topic=body.topic or None, intent_confidence=body.confidence)
    miss = miss_of(question, result, observer.top(question), low_confidence=settings.knowledge_low_confidence,
                   intent=intent)
    if miss is not None and report_misses:
        background.add_task(record, sessions, miss)  # after the reply is sent
    return AnswerResponse(**result.to_dict())


# An index built by an older release keeps its article records' keys: unset ones stay out.
@router.get("/articles/{article_id}", response_model=ArticleOut, response_model_exclude_unset=True,
            responses=error_responses(INVALID_REQUEST, NOT_READY, {404: ("article_not_found",)}))
def article(kb: KBDep, article_id: str) -> dict:
    record = kb.article(article_id)
    if record is None:
        raise ApiError(404, "article_not_found", "没有找到这篇文章。")
    return record
