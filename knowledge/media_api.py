"""Media of the knowledge base: admins upload, list and remove an article's pictures, videos and
diagrams; anyone may fetch one (`/media/{id}`), as the answers on every channel show them."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from core.deps import ServicesDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from knowledge.deps import EditorDep
from knowledge.media import KINDS, MediaLibrary, public
from knowledge.validation import ID_FORM
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, Admin

router = APIRouter(tags=["knowledge: media"])
ADMIN = (SIGNED_IN_ERRORS, ROLE_ERRORS, INVALID_REQUEST)
CHANGE = (*ADMIN, CSRF_ERRORS)
UPLOAD_PATH = "/api/v1/knowledge/admin/articles/{article_id}/media"
UPLOAD_PATTERN = r"/api/v1/knowledge/admin/articles/[^/]+/media"  # for the body-size cap of uploads
ArticleId = Annotated[str, Path(pattern=f"^{ID_FORM.pattern}$", description="文章 id")]
MediaId = Annotated[str, Path(pattern="^[0-9a-f]{32}$", description="媒体 id")]


def get_library(services: ServicesDep) -> MediaLibrary:
    library = services.find(MediaLibrary)
    if library is None:
        raise ApiError(503, "media_unavailable", "图片和视频暂时无法使用，请稍后再试。")
    return library


LibraryDep = Annotated[MediaLibrary, Depends(get_library)]
_NOT_FOUND = ApiError(404, "media_not_found", "没有找到这个图片或视频。")


class MediaItem(BaseModel):
    id: str
    article_id: str
    kind: str
    url: str
    caption: str
    content_type: str
    size: int
    position: int


class MediaList(BaseModel):
    media: list[MediaItem]


@router.post(
    UPLOAD_PATH, status_code=201, response_model=MediaItem, summary="Add a picture, video or diagram to an article",
    responses=error_responses(*CHANGE, {404: ("article_not_found",), 409: ("media_too_many",),
                                        413: ("media_too_large",), 415: ("media_type_unsupported",),
                                        422: ("media_kind_unknown", "media_caption_invalid", "media_empty",
                                              "media_type_mismatch")}),
)
async def upload(
    me: Admin, editor: EditorDep, library: LibraryDep, article_id: ArticleId,
    file: UploadFile = File(..., description="PNG, JPEG, GIF, WebP picture or MP4, WebM video"),
    kind: str = Form(..., description=f"one of {', '.join(KINDS)}"),
    caption: str = Form(..., description="the words for it: alt text, WeChat card text, what the phone line says"),
) -> dict:
    await editor.show(article_id)  # 404 for an article that does not exist
    # One byte past the larger limit is enough to refuse it: never read an oversized upload whole.
    data = await file.read(max(library.limits.image_bytes, library.limits.video_bytes) + 1)
    media = await library.add(article_id=article_id, kind=kind, caption=caption, data=data, actor=me.actor)
    return public(media)


@router.get("/api/v1/knowledge/admin/articles/{article_id}/media", response_model=MediaList,
            summary="An article's pictures, videos and diagrams, in order", responses=error_responses(*ADMIN))
async def list_media(me: Admin, library: LibraryDep, article_id: ArticleId) -> dict:
    return {"media": [public(m) for m in await library.of_article(article_id)]}


@router.delete("/api/v1/knowledge/admin/media/{media_id}", status_code=204, summary="Remove a picture or video",
               responses=error_responses(*CHANGE, {404: ("media_not_found",)}))
async def remove_media(me: Admin, library: LibraryDep, media_id: MediaId) -> None:
    if await library.remove(media_id, me.actor) is None:
        raise _NOT_FOUND


@router.get("/media/{media_id}", response_class=FileResponse, summary="A picture or video of an answer",
            responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "video/mp4": {}}},
                       **error_responses(INVALID_REQUEST, {404: ("media_not_found",)})})
async def media_file(library: LibraryDep, media_id: MediaId) -> FileResponse:
    found = await library.file(media_id)
    if found is None:
        raise _NOT_FOUND
    media, path = found
    # Served as what its bytes are (checked at upload), never sniffed into something else, never a page.
    return FileResponse(path, media_type=media.content_type, headers={
        "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox", "Content-Disposition": "inline",
    })
