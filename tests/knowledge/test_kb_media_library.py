"""The media library on SQLite and PostgreSQL: bytes kept in the database (every instance serves the same
file), copied to this instance's disk once, in the article's order; limits per kind."""
from __future__ import annotations

import pytest

from core.errors import ApiError
from knowledge.media import MAX_PER_ARTICLE, Limits, MediaLibrary
from staff.audit import SYSTEM

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 100
WEBM = b"\x1a\x45\xdf\xa3" + b"\x02" * 300


@pytest.fixture
async def library(sessions, tmp_path) -> MediaLibrary:
    return MediaLibrary(sessions, tmp_path / "cache", Limits(image_bytes=200, video_bytes=400))


async def test_bytes_round_trip_through_the_database_and_one_disk_copy(library, tmp_path):
    first = await library.add(article_id="rent", kind="diagram", caption="流程图", data=PNG, actor=SYSTEM)
    second = await library.add(article_id="rent", kind="video", caption="视频讲解", data=WEBM, actor=SYSTEM)
    assert (first.content_type, second.content_type) == ("image/png", "video/webm")
    assert [m.id for m in await library.of_article("rent")] == [first.id, second.id]
    found = await library.file(first.id)
    assert found is not None and found[1].read_bytes() == PNG
    found[1].unlink()  # another instance (or a wiped disk) writes its own copy from the database
    again = await library.file(first.id)
    assert again is not None and again[1].read_bytes() == PNG
    assert list((tmp_path / "cache").glob("*.part")) == []


async def test_limits_per_kind_and_per_article(library):
    with pytest.raises(ApiError) as big:
        await library.add(article_id="rates", kind="image", caption="太大", data=PNG + b"\x00" * 200, actor=SYSTEM)
    assert big.value.code == "media_too_large"
    # A video may be larger than a picture.
    await library.add(article_id="rates", kind="video", caption="可以", data=WEBM, actor=SYSTEM)
    for n in range(MAX_PER_ARTICLE - 1):
        await library.add(article_id="rates", kind="image", caption=f"第{n}张", data=PNG, actor=SYSTEM)
    with pytest.raises(ApiError) as many:
        await library.add(article_id="rates", kind="image", caption="多了", data=PNG, actor=SYSTEM)
    assert many.value.code == "media_too_many"
