"""全媒体智库 through the real app: an admin adds pictures and videos to an article (checked by what the
bytes are, by size, with words for each), anyone fetches them, and the answer of that article carries
them to the app; uploads that are not what they claim are refused with clear codes."""
from __future__ import annotations

import struct
import time
import uuid
import zlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from server.app import create_app
from server.stack import free_port
from staff import passwords
from tests.corpus import write_seed
from tests.knowledge.test_knowledge_admin_api import CHEAP, login

ARTICLE_MEDIA = "/api/v1/knowledge/admin/articles/{}/media"


def png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG, so a browser can draw it too."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("kb-media")
    nowhere = f"http://127.0.0.1:{free_port()}"  # no Rasa: answers come from the knowledge base itself
    settings = Settings(
        data_dir=root, index_dir=root / "index", knowledge_dir=write_seed(root / "seed"), rasa_url=nowhere,
        action_server_url=nowhere, console_bootstrap_admin="admin:admin-pass-1", knowledge_watch_s=0.2,
        knowledge_media_image_mb=1, app_api_key="app-key-for-tests-0123456789",
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", CHEAP)
        with TestClient(create_app(settings)) as client:
            yield client


@pytest.fixture(scope="module")
def admin(client) -> dict:
    return login(client, "admin", "admin-pass-1")


def upload(client: TestClient, headers: dict, data: bytes, *, kind: str = "image",
           caption: str = "公积金App首页：点“提取”", article: str = "rent", name: str = "step.png"):
    return client.post(ARTICLE_MEDIA.format(article), headers=headers, data={"kind": kind, "caption": caption},
                       files={"file": (name, data, "application/octet-stream")})


def test_an_article_carries_its_pictures_and_anyone_can_fetch_them(client, admin):
    image = png()
    added = upload(client, admin, image)
    assert added.status_code == 201, added.text
    item = added.json()
    assert item["content_type"] == "image/png" and item["kind"] == "image" and item["url"] == f"/media/{item['id']}"
    video = upload(client, admin, MP4, kind="video", caption="三分钟看懂租房提取", name="how.mp4").json()
    listed = client.get(ARTICLE_MEDIA.format("rent"), headers=admin).json()["media"]
    assert [m["id"] for m in listed] == [item["id"], video["id"]]  # the order they were added in

    fetched = client.get(item["url"])  # no login: the answers show them to citizens
    assert fetched.status_code == 200 and fetched.content == image
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in fetched.headers["content-security-policy"]
    assert client.get(f"/media/{'0' * 32}").json()["code"] == "media_not_found"


def test_the_answer_of_an_article_shows_its_media_in_the_app(client, admin):
    upload(client, admin, png(), article="transfer", caption="转移接续：在App里选“转入”")
    token = client.post("/api/v1/app/session", json={}).json()["token"]
    deadline = time.monotonic() + 90
    while True:  # the index builds in the background after start
        response = client.post("/api/v1/app/messages", headers={"Authorization": f"Bearer {token}"},
                               json={"text": "换城市工作了公积金怎么转移", "client_msg_id": uuid.uuid4().hex})
        assert response.status_code == 200, response.text
        replies = response.json()["replies"]
        if any(r["sources"] for r in replies) or time.monotonic() > deadline:
            break
        time.sleep(1)
    answer = next(r for r in replies if r["sources"])
    assert answer["sources"][0]["article_id"] == "transfer"
    assert [m["caption"] for m in answer["media"]] == ["转移接续：在App里选“转入”"]
    assert answer["media"][0]["url"].startswith("/media/")
    # Stored with the message: the long-poll history shows the same picture.
    history = client.get("/api/v1/app/messages", headers={"Authorization": f"Bearer {token}"}).json()["messages"]
    assert any(m["payload"].get("media") for m in history)


@pytest.mark.parametrize(("data", "kind", "caption", "status", "code"), [
    (SVG, "image", "图", 415, "media_type_unsupported"),          # SVG can carry script: never served
    (b"GIF89a" + b"\x00" * 10, "video", "图", 422, "media_type_mismatch"),
    (MP4, "image", "图", 422, "media_type_mismatch"),
    (png(), "picture", "图", 422, "media_kind_unknown"),
    (png(), "image", "   ", 422, "media_caption_invalid"),
    (png(), "image", "长" * 201, 422, "media_caption_invalid"),
    (b"", "image", "图", 422, "media_empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024), "image", "图", 413, "media_too_large"),
])
def test_uploads_that_are_not_what_they_claim_are_refused(client, admin, data, kind, caption, status, code):
    before = len(client.get(ARTICLE_MEDIA.format("rates"), headers=admin).json()["media"])
    refused = upload(client, admin, data, kind=kind, caption=caption, article="rates")
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    assert refused.json()["message"]  # a Chinese sentence an editor can act on
    assert len(client.get(ARTICLE_MEDIA.format("rates"), headers=admin).json()["media"]) == before


def test_only_admins_change_media_and_every_change_is_audited(client, admin):
    name = f"agent-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": "agent-pass-1", "role": "agent", "capacity": 3,
            "display_name": "客服 0001 测"}
    assert client.post("/api/v1/console/agents", json=body, headers=admin).status_code == 201
    agent = login(client, name, "agent-pass-1")
    assert upload(client, agent, png()).json()["code"] == "forbidden"
    assert upload(client, {}, png()).json()["code"] == "not_logged_in"
    assert upload(client, admin, png(), article="no-such-article").json()["code"] == "article_not_found"

    item = upload(client, admin, png(), article="rates", caption="利率表").json()
    assert client.delete(f"/api/v1/knowledge/admin/media/{item['id']}", headers=agent).status_code == 403
    assert client.delete(f"/api/v1/knowledge/admin/media/{item['id']}", headers=admin).status_code == 204
    assert client.get(item["url"]).status_code == 404
    again = client.delete(f"/api/v1/knowledge/admin/media/{item['id']}", headers=admin)
    assert again.json()["code"] == "media_not_found"
    for action in ("knowledge_media_add", "knowledge_media_remove"):
        entries = client.get("/api/v1/console/audit", headers=admin, params={"action": action}).json()["entries"]
        assert any(e["target"] == "article:rates" and e["detail"]["media"] == item["id"] for e in entries)
