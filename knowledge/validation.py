"""Checking an article before a version of it is accepted.

The parsing is knowledge/articles.py's (front matter, required fields, categories, `{{…}}`
placeholders filled from the parameter files), so whatever passes here also indexes. A few rules the
parser is lenient about are added: the id's form, list fields that are lists, a real date.
"""
from __future__ import annotations

import re
from datetime import date

from core.errors import ApiError
from knowledge.articles import Article, ArticleError, parse_article, split_front_matter
from policy.params import ParamError

ID_FORM = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_CONTENT = 200_000  # characters: far above the longest article, far below a mistake


class ArticleInvalid(ApiError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(422, code, f"文章未通过检查：{detail}")


# The codes an article that fails these checks is refused with (422), for the admin API's documentation.
INVALID_CODES = (
    "article_too_long", "front_matter_missing", "front_matter_invalid", "field_missing", "field_invalid",
    "category_unknown", "id_invalid", "placeholder_invalid", "article_invalid",
)


def validate(content: str, params: dict) -> Article:
    """The parsed article, or ArticleInvalid with a stable code and a Chinese reason."""
    if len(content) > MAX_CONTENT:
        raise ArticleInvalid("article_too_long", f"内容超过 {MAX_CONTENT} 个字符。")
    try:
        meta, _ = split_front_matter(content, "文章")
        _check_fields(meta)
        return parse_article(content, "文章", params)
    except ArticleError as exc:
        raise ArticleInvalid(exc.code, str(exc)) from None
    except ParamError as exc:
        raise ArticleInvalid("placeholder_invalid", f"参数占位符有误，{exc}") from None


def _check_fields(meta: dict) -> None:
    article_id = meta.get("id")
    if article_id is not None and not ID_FORM.fullmatch(str(article_id)):
        raise ArticleError("文章 id 只能用小写字母、数字和连字符，最长64位", "id_invalid")
    for key in ("keywords", "questions"):
        value = meta.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, (str, int)) for v in value)):
            raise ArticleError(f"{key} 必须是文字列表，例如 [租房, 房租]", "field_invalid")
    effective = meta.get("effective_date")
    if effective is not None and not isinstance(effective, date):
        try:
            date.fromisoformat(str(effective))
        except ValueError:
            raise ArticleError("effective_date 必须是日期，例如 2026-01-01", "field_invalid") from None
