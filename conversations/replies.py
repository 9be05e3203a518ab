"""The one outgoing reply type every channel renders in its own way."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conversations.models import Message


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)  # {"title", "payload"}
    links: list[dict[str, Any]] = field(default_factory=list)    # {"title", "url"}
    sources: list[dict[str, Any]] = field(default_factory=list)  # {"article_id", "title"}
    meta: dict[str, Any] = field(default_factory=dict)           # e.g. {"fallback": "knowledge"}
    # Pictures, videos, diagrams of the answered article: {"kind", "url", "caption", "content_type"}
    media: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        extra = {"media": self.media} if self.media else {}
        return {"buttons": self.buttons, "links": self.links, "sources": self.sources, **extra, **self.meta}

    def to_api(self) -> dict[str, Any]:
        extra = {"media": self.media} if self.media else {}
        return {"text": self.text, "buttons": self.buttons, "links": self.links, "sources": self.sources, **extra}

    def as_plain_text(self) -> str:
        """For channels without buttons: numbered choices and links written out."""
        lines = [self.text]
        lines += [f"{i}. {b['title']}" for i, b in enumerate(self.buttons, 1)]
        lines += [f"{link['title']}：{link['url']}" for link in self.links]
        lines += [f"{MEDIA_WORDS.get(m.get('kind', ''), '图片')}：{m['caption']}" for m in self.media]
        lines += [f"来源：《{s['title']}》" for s in self.sources]
        return "\n".join(line for line in lines if line)


# A stored payload's keys that are not the reply's meta: its lists, and the message's place in the
# conversation (which the hub adds when it stores it).
_NOT_META = frozenset({"buttons", "links", "sources", "media", "in_reply_to", "client_msg_id"})
# How a channel without pictures names what it cannot show (the phone line reads the caption after it).
MEDIA_WORDS = {"image": "图片", "diagram": "图解", "video": "视频"}


def reply_of(message: Message) -> Reply:
    """The one way back from a stored message to the Reply it was sent as (for a retry's replies and
    for reading back what the citizen was offered); the rest of the payload returns as `meta`."""
    payload = message.payload or {}
    return Reply(
        text=message.text,
        buttons=list(payload.get("buttons") or []),
        links=list(payload.get("links") or []),
        sources=list(payload.get("sources") or []),
        media=list(payload.get("media") or []),
        meta={key: value for key, value in payload.items() if key not in _NOT_META},
    )


def _clean_list(items: object, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [
        {k: str(item[k]) for k in keys}
        for item in items
        if isinstance(item, dict) and all(isinstance(item.get(k), (str, int, float)) for k in keys)
    ]


def from_rasa(message: dict[str, Any]) -> Reply | None:
    """One message of Rasa's REST channel → a Reply. Custom JSON carries text, buttons, links, sources."""
    custom = message.get("custom")
    source = custom if isinstance(custom, dict) and custom.get("text") else message
    text = source.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    return Reply(
        text=text.strip(),
        buttons=_clean_list(source.get("buttons"), ("title", "payload")),
        links=[link for link in _clean_list(source.get("links"), ("title", "url")) if _is_web_url(link["url"])],
        sources=_clean_list(source.get("sources"), ("article_id", "title")),
        meta={**_loan_ask(source.get("loan_ask")), **explanation(source.get("explain"))},
    )


def explanation(value: object) -> dict[str, Any]:
    """Why the knowledge base answered, clarified or declined (its `explain`), kept in the stored reply's
    payload for the agents' console; only the known fields, bounded, as the bot's JSON is not trusted blindly."""
    if not isinstance(value, dict) or not isinstance(value.get("decision"), str):
        return {}
    candidates = value.get("top")
    top = [
        {"article": str(c.get("article"))[:64], "title": str(c.get("title"))[:200],
         "score": _number(c.get("score")), "confidence": _number(c.get("confidence")),
         "agreement": _number(c.get("agreement")), "signals": _number(c.get("signals"))}
        for c in (candidates[:5] if isinstance(candidates, list) else [])
        if isinstance(c, dict)
    ]
    given = value.get("thresholds")
    thresholds: dict[str, Any] = given if isinstance(given, dict) else {}
    return {"explain": {
        "decision": value["decision"][:32],
        "rule": str(value.get("rule") or "")[:32],
        "top": top,
        "not_ours": _number(value.get("not_ours")),
        "thresholds": {str(k)[:32]: _number(v) for k, v in list(thresholds.items())[:10]},
    }}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _loan_ask(value: object) -> dict[str, Any]:
    """The principal a citizen asked the calculator about (`{"amount": yuan}`), kept in the stored reply's
    payload so that outreach can later compare it with what the citizen could borrow."""
    if not isinstance(value, dict):
        return {}
    amount = value.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 < amount < 1e9:
        return {}
    return {"loan_ask": {"amount": float(amount)}}


def _is_web_url(url: str) -> bool:
    return url.startswith(("https://", "http://")) or url.startswith("/")
