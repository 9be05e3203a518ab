"""全媒体智库: pictures, short videos and diagrams stored with the articles they illustrate.

An upload is checked by what its bytes are, not by its name or declared type: a PNG, JPEG, GIF or WebP
picture (a diagram is a picture with that role) or an MP4/WebM video, within a size per kind. SVG is
refused: it can carry script. Each item has words for it (the caption), which the phone line speaks
and every page uses as its text alternative.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import ApiError
from knowledge.models import Media
from staff import audit

KINDS = ("image", "diagram", "video")
MEDIA_URL = "/media/{id}"
MAX_CAPTION = 200
MAX_PER_ARTICLE = 12


@dataclass(frozen=True)
class Limits:
    image_bytes: int
    video_bytes: int


def sniff(data: bytes) -> str | None:
    """The content type the bytes are, from their signature; None for anything we do not serve."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def check_upload(data: bytes, kind: str, caption: str, limits: Limits) -> str:
    """The upload's content type, or a clear refusal (422 with a stable code)."""
    if kind not in KINDS:
        raise ApiError(422, "media_kind_unknown", "类型只能是 image（图片）、diagram（图解）或 video（视频）。")
    caption = caption.strip()
    if not caption or len(caption) > MAX_CAPTION:
        raise ApiError(422, "media_caption_invalid", f"请填写 1–{MAX_CAPTION} 字的文字说明（电话里会读给市民听）。")
    if not data:
        raise ApiError(422, "media_empty", "上传的文件是空的。")
    content_type = sniff(data)
    if content_type is None:
        raise ApiError(415, "media_type_unsupported", "只支持 PNG、JPEG、GIF、WebP 图片和 MP4、WebM 视频。")
    is_video = content_type.startswith("video/")
    if is_video != (kind == "video"):
        raise ApiError(422, "media_type_mismatch", "文件内容与所选类型不符（图片请选图片或图解，视频请选视频）。")
    limit = limits.video_bytes if is_video else limits.image_bytes
    if len(data) > limit:
        what = "视频" if is_video else "图片"
        raise ApiError(413, "media_too_large", f"文件过大：{what}不能超过 {limit // (1024 * 1024)} MB。")
    return content_type


def public(media: Media) -> dict:
    return {"id": media.id, "article_id": media.article_id, "kind": media.kind, "url": MEDIA_URL.format(id=media.id),
            "caption": media.caption, "content_type": media.content_type, "size": media.size,
            "position": media.position}


def for_reply(media: Media) -> dict:
    """What a reply carries to every channel: enough to show it, and the words for it."""
    return {"kind": media.kind, "url": MEDIA_URL.format(id=media.id), "caption": media.caption,
            "content_type": media.content_type}


class MediaLibrary:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache_dir: Path, limits: Limits) -> None:
        self._sessions = sessions
        self._cache = cache_dir
        self.limits = limits

    async def add(self, *, article_id: str, kind: str, caption: str, data: bytes, actor: audit.Actor) -> Media:
        content_type = check_upload(data, kind, caption, self.limits)
        async with self._sessions() as session:
            count = await session.scalar(select(func.count()).where(Media.article_id == article_id))
            if (count or 0) >= MAX_PER_ARTICLE:
                raise ApiError(409, "media_too_many", f"每篇文章最多 {MAX_PER_ARTICLE} 个图片或视频。")
            media = Media(id=secrets.token_hex(16), article_id=article_id, kind=kind, content_type=content_type,
                          size=len(data), sha256=hashlib.sha256(data).hexdigest(), caption=caption.strip(),
                          position=count or 0, data=data, created_by=actor.name)
            session.add(media)
            audit.record(session, actor, "knowledge_media_add", f"article:{article_id}", media=media.id, kind=kind,
                         size=len(data))
            await session.commit()
            return media

    async def of_article(self, article_id: str) -> list[Media]:
        return (await self.of_articles([article_id])).get(article_id, [])

    async def of_articles(self, article_ids: Iterable[str]) -> dict[str, list[Media]]:
        ids = sorted(set(article_ids))
        if not ids:
            return {}
        async with self._sessions() as session:
            rows = (await session.scalars(
                select(Media).where(Media.article_id.in_(ids))
                .order_by(Media.article_id, Media.position, Media.created_at)
            )).all()
        found: dict[str, list[Media]] = {}
        for media in rows:
            found.setdefault(media.article_id, []).append(media)
        return found

    async def remove(self, media_id: str, actor: audit.Actor) -> Media | None:
        async with self._sessions() as session:
            media = await session.get(Media, media_id)
            if media is None:
                return None
            await session.execute(delete(Media).where(Media.id == media_id))
            audit.record(session, actor, "knowledge_media_remove", f"article:{media.article_id}", media=media_id)
            await session.commit()
            return media

    async def file(self, media_id: str) -> tuple[Media, Path] | None:
        """The item and a file with its bytes: this instance's copy, written from the database once."""
        async with self._sessions() as session:
            media = await session.get(Media, media_id)
            if media is None:
                return None
            path = self._cache / media.sha256
            if not path.exists():
                data = await session.scalar(select(Media.data).where(Media.id == media_id))
                if data is None:
                    return None
                self._cache.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(f".{secrets.token_hex(4)}.part")
                partial.write_bytes(data)
                partial.replace(path)  # atomic: a concurrent reader sees the whole file or none
            return media, path
