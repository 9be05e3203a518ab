"""A knowledge-base article as a phone page, for the links and news cards WeChat opens in its own
browser ("来源：《…》", 图文). Plain server-rendered HTML: nothing to load, every value escaped."""
from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from core.deps import ServicesDep
from core.errors import INVALID_REQUEST, error_responses
from core.staff_marks import for_citizens
from knowledge.deps import LoadedKBDep
from knowledge.media import MEDIA_URL, MediaLibrary
from knowledge.models import Media
from knowledge.search import IndexNotReady

router = APIRouter(prefix="/wechat/articles", tags=["wechat"])

_STYLE = (
    "body{font:16px/1.7 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0 auto;max-width:720px;"
    "padding:16px;color:#222}h1{font-size:1.35em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.4em 0 .4em}"
    ".summary{background:#f3f7f4;padding:10px 12px;border-radius:6px}.meta{color:#777;font-size:.85em}"
    "ul{padding-left:1.3em}figure{margin:1em 0}figure img,figure video{max-width:100%;height:auto}"
    "figcaption{color:#666;font-size:.85em}a.action{display:block;text-align:center;background:#1aad19;color:#fff;"
    "padding:10px;border-radius:6px;text-decoration:none;margin:1.2em 0}"
)


@router.get(
    "/{article_id}", response_class=HTMLResponse, summary="An article as a page for WeChat's browser",
    responses={
        **error_responses(INVALID_REQUEST, route_answers_json=False),
        404: {"description": "no such article: a page that says so",
              "content": {"text/html": {"schema": {"type": "string"}}}},
    },
)
async def article_page(article_id: str, kb: LoadedKBDep, services: ServicesDep) -> HTMLResponse:
    try:
        article = kb.article(article_id) if kb is not None else None
    except IndexNotReady:
        article = None
    if article is None:
        missing = _page("没有找到这篇文章", "<p>没有找到这篇文章，请回到公众号直接提问。</p>")
        return HTMLResponse(missing, status_code=404)
    library = services.find(MediaLibrary)
    media = await library.of_article(article_id) if library is not None else []
    page = _page(article["title"], _body(article, media))
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})


def _body(article: dict, media: list[Media]) -> str:
    parts = [f'<p class="summary">{escape(for_citizens(article.get("summary", "")))}</p>']
    parts += [_figure(item) for item in media]
    for section in article.get("sections", []):
        parts.append(f"<h2>{escape(section['heading'])}</h2>")
        parts.append(_section_text(for_citizens(section.get("text", ""))))
    link = article.get("business_link")
    if link and link["url"].startswith(("https://", "http://")):
        parts.append(f'<a class="action" href="{escape(link["url"], quote=True)}">{escape(link["title"])}</a>')
    parts.append(
        f'<p class="meta">政策施行日期：{escape(str(article.get("effective_date", "")))}<br>'
        f'依据：{escape(for_citizens(article.get("source", "")))}</p>'
    )
    return "\n".join(parts)


def _figure(media: Media) -> str:
    """A picture or video of the article with its words (the caption is also the text alternative)."""
    url = escape(MEDIA_URL.format(id=media.id), quote=True)
    caption = escape(media.caption)
    words = escape(media.caption, quote=True)
    shown = (f'<video controls preload="metadata" src="{url}" aria-label="{words}"></video>'
             if media.kind == "video" else f'<img src="{url}" alt="{words}" loading="lazy">')
    return f"<figure>{shown}<figcaption>{caption}</figcaption></figure>"


def _section_text(text: str) -> str:
    """The articles' Markdown is lines and "- " bullets: enough to render without a Markdown library."""
    html, items = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("- "):
            items.append(f"<li>{escape(line[2:])}</li>")
            continue
        if items:
            html.append("<ul>" + "".join(items) + "</ul>")
            items = []
        if line.strip():
            html.append(f"<p>{escape(line)}</p>")
    return "\n".join(html)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
