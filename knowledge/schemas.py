"""What the knowledge routes answer: an article as the index keeps it, and the admin API's versions,
report and index state."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import Timestamp

# -- an article as served ---------------------------------------------------------------------------


class Section(BaseModel):
    heading: str
    text: str


class BusinessLink(BaseModel):
    title: str
    url: str


class ArticleOut(BaseModel):
    """An article as the served index recorded it. An index built by an older release may lack the
    later keys or carry others: they pass through unchanged (the route leaves out unset keys)."""

    model_config = ConfigDict(extra="allow")
    id: str
    title: str
    category: str
    keywords: list[str]
    effective_date: str
    source: str
    summary: str
    business: str | None
    sections: list[Section]
    questions: list[str] = Field(default_factory=list, description="typical citizen phrasings (常见问法)")
    business_link: BusinessLink | None = None


# -- versions ---------------------------------------------------------------------------------------


class ArticleVersion(BaseModel):
    article_id: str
    version: int
    action: str = Field(description="seed, create, edit, retire or rollback")
    author: str
    created_at: Timestamp
    retired: bool
    note: str | None
    restored_from: int | None = Field(description="the version a rollback copied")
    title: str
    category: str


class ArticleVersionDetail(ArticleVersion):
    content: str = Field(description="the whole Markdown file")
    diff: str = Field(description="unified diff against the version before")


class ArticlesOut(BaseModel):
    articles: list[ArticleVersion]


class HistoryOut(BaseModel):
    versions: list[ArticleVersion]


class DiffOut(BaseModel):
    diff: str


# -- the report and the index -----------------------------------------------------------------------


class NearestArticle(BaseModel):
    id: str
    title: str | None


class QuestionGroup(BaseModel):
    count: int
    question: str = Field(description="the most frequent wording")
    examples: list[str]
    kinds: dict[str, int] = Field(description="how often each kind of miss (unanswered, low confidence…)")
    rules: dict[str, int] = Field(default_factory=dict, description="how often each rule decided (scope_model…)")
    nearest_article: NearestArticle | None
    first_asked_at: Timestamp
    last_asked_at: Timestamp


class DecisionCount(BaseModel):
    decision: str = Field(description="none, clarify, decline or low_confidence")
    rule: str | None = Field(description="what decided it (knowledge.answer.Rule); null for older records")
    count: int


class ReportOut(BaseModel):
    since: Timestamp
    until: Timestamp
    total: int
    by_decision: list[DecisionCount] = Field(default_factory=list, description="the misses by decision and rule")
    groups: list[QuestionGroup]


class Building(BaseModel):
    owner: str | None
    until: Timestamp


class IndexState(BaseModel):
    build: str | None = Field(description="the build this process serves; null while none is ready")
    revision: int = Field(description="the newest article version id")
    manifest: dict[str, Any] = Field(description="the served build's manifest (size, index type and parameters)")
    building: Building | None = Field(description="a build under way, and who runs it")
