"""Replies in WeChat's terms: text within WeChat's size limit, buttons as numbered choices the
citizen answers with a digit, links as `<a href>` (opened in WeChat's browser), and a news (图文)
card for a long article answer instead of a wall of text."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html import escape

from conversations.models import Direction, Message
from conversations.replies import Reply, reply_of

# WeChat refuses text over 2048 bytes (UTF-8; a Chinese character is 3). Keep a margin.
TEXT_LIMIT_BYTES = 2000
NEWS_DESCRIPTION_CHARS = 80
CHOICE_PROMPT = "回复数字选择："
_CHOICE = re.compile(r"\s*(\d{1,2})\s*[.。、]?\s*")


@dataclass(frozen=True)
class TextOut:
    content: str


@dataclass(frozen=True)
class NewsOut:
    title: str
    description: str
    url: str
    image: str = ""


Out = TextOut | NewsOut


class Renderer:
    def __init__(self, public_base_url: str) -> None:
        self._base = public_base_url.rstrip("/")

    def absolute(self, url: str) -> str | None:
        """WeChat opens only absolute http(s) addresses; a relative one needs PUBLIC_BASE_URL."""
        if url.startswith(("https://", "http://")):
            return url
        if url.startswith("/") and not url.startswith("//") and self._base:
            return self._base + url
        return None

    def article_url(self, article_id: str) -> str | None:
        return self.absolute(f"/wechat/articles/{article_id}")

    def render(self, replies: list[Reply]) -> list[Out]:
        """One turn's replies as WeChat messages, in order. Choices are numbered across the turn, as
        `pick_choice` reads them back."""
        numbers = iter(numbered([b for reply in replies for b in reply.buttons]))
        cards: list[Out] = []
        pictures: list[Out] = []  # after the words they illustrate
        bodies: list[str] = []
        for reply in replies:
            choices = [next(numbers) for _ in reply.buttons]
            body = self._body(reply, choices)
            long = _size(body) > TEXT_LIMIT_BYTES
            # A long answer goes as its article's card; a short one with pictures keeps its text and
            # gets the card too, since WeChat shows a picture only in a card (or a separate upload).
            card = self._news_for(reply, long=long) if long or reply.media else None
            if card is not None and long:  # the card carries the article; the choices and links still go as text
                cards.append(card)
                body = self._body(Reply(text="", buttons=reply.buttons, links=reply.links), choices)
            elif card is not None:
                pictures.append(card)
            if body:
                bodies.append(body)
        joined = "\n\n".join(bodies)
        texts = [joined] if _size(joined) <= TEXT_LIMIT_BYTES else [p for b in bodies for p in split_text(b)]
        return cards + [TextOut(t) for t in texts if t] + pictures

    def _body(self, reply: Reply, choices: list[tuple[str, dict]]) -> str:
        lines = [reply.text.strip()] if reply.text.strip() else []
        for link in reply.links:
            url = self.absolute(link["url"])
            lines.append(_anchor(url, link["title"]) if url else link["title"])
        for source in reply.sources:
            url = self.article_url(source["article_id"])
            title = f"《{source['title']}》"
            lines.append("来源：" + (_anchor(url, title) if url else title))
        if choices:
            lines.append(CHOICE_PROMPT)
            lines += [f"{number}. {button['title']}" for number, button in choices]
        return "\n".join(lines)

    def _news_for(self, reply: Reply, *, long: bool = True) -> NewsOut | None:
        if len(reply.sources) != 1:
            return None
        url = self.article_url(reply.sources[0]["article_id"])
        if url is None:
            return None
        pictures = [m for m in reply.media if m.get("kind") in ("image", "diagram")]
        image = (self.absolute(pictures[0]["url"]) or "") if pictures else ""
        if long or not reply.media:
            summary = " ".join(reply.text.split())
            if len(summary) > NEWS_DESCRIPTION_CHARS:
                summary = summary[: NEWS_DESCRIPTION_CHARS - 1] + "…"
            description = summary + "（点开看全文）"
        else:  # the answer itself goes as text: the card says what it shows
            first = (pictures or reply.media)[0]
            what = "视频" if first["kind"] == "video" else "图文"
            description = f"{first['caption'][:NEWS_DESCRIPTION_CHARS]}（点开看{what}）"
        return NewsOut(title=reply.sources[0]["title"], description=description, url=url, image=image)


def _anchor(url: str, title: str) -> str:
    return f'<a href="{escape(url, quote=True)}">{title}</a>'


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Parts of at most `limit` bytes, cut between lines where possible, never inside a character."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if _size(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while _size(line) > limit:
            cut = _cut(line, limit)
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current:
        parts.append(current)
    return parts


def _cut(line: str, limit: int) -> int:
    """Characters of `line` that fit in `limit` bytes, ending after punctuation when one is near."""
    count, used = 0, 0
    for ch in line:
        used += len(ch.encode("utf-8"))
        if used > limit:
            break
        count += 1
    for i in range(count, max(count - 60, 0), -1):
        if line[i - 1] in "。！？；，,.!?;、 ":
            return i
    return count


def numbered(buttons: list[dict]) -> list[tuple[str, dict]]:
    """The number a citizen replies with for each button: 1, 2, 3… in order, except when every
    payload is itself a distinct number (a 5-to-1 rating), where "5" must mean 5."""
    payloads = [str(b.get("payload", "")) for b in buttons]
    if payloads and all(p.isdigit() and len(p) <= 2 for p in payloads) and len(set(payloads)) == len(payloads):
        return list(zip(payloads, buttons, strict=True))
    return [(str(i), b) for i, b in enumerate(buttons, 1)]


def choices_before(recent: list[Message]) -> list[dict]:
    """The buttons the citizen was last offered, if nothing came from the citizen since: all buttons
    of the latest outgoing turn (bot replies share `in_reply_to`), in the order `render` showed them."""
    if not recent or recent[-1].direction != Direction.OUT:
        return []
    last = recent[-1]
    turn = last.in_reply_to
    group = [m for m in recent if turn and m.direction == Direction.OUT and m.in_reply_to == turn]
    return [b for m in (group or [last]) for b in reply_of(m).buttons]


def looks_like_choice(text: str) -> bool:
    return _CHOICE.fullmatch(unicodedata.normalize("NFKC", text)) is not None


def pick_choice(text: str, recent: list[Message]) -> tuple[int, dict] | None:
    """"2" (or "２", "2.") after numbered choices → (2, that button)."""
    match = _CHOICE.fullmatch(unicodedata.normalize("NFKC", text))
    if match is None:
        return None
    number = str(int(match.group(1)))
    for shown, button in numbered(choices_before(recent)):
        if shown == number:
            return int(shown), button
    return None
