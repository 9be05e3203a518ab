"""全媒体智库 in headless Chromium against the live system: an admin adds a step-by-step picture to an
article in the supervisor page's 知识库 tab, then a citizen on the phone-sized chat page asks a question
that article answers and sees the picture inline, drawn, with its words as caption and alt text."""
from __future__ import annotations

import struct
import uuid
import zlib

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.agent_console.helpers import PASSWORD, add_agent_sync
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

QUESTION = "公积金提取能在手机上网上办吗，具体怎么操作"
CAPTION = f"第一步：打开公积金App，点“提取”（{uuid.uuid4().hex[:4]}）"


def png(width: int = 40, height: int = 24) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def answered_article(base_url: str, api_key: str) -> str:
    """The article the live bot answers QUESTION with (as the page will get it)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        user = f"media-{uuid.uuid4().hex[:8]}"
        reply = client.post("/api/v1/app/messages", headers={"X-Api-Key": api_key},
                            json={"user_id": user, "text": QUESTION}).json()
    sources = [s for r in reply["replies"] for s in r["sources"]]
    assert sources, reply
    return sources[0]["article_id"]


def test_admin_adds_a_picture_and_the_citizen_sees_it_in_the_answer(browser: Browser, live_service) -> None:
    article = answered_article(live_service.base_url, live_service.app_api_key)
    admin = f"kb-{uuid.uuid4().hex[:6]}"
    add_agent_sync(f"sqlite:///{live_service.data_dir / 'hpf.db'}", admin, role="admin", display_name="管理员 甲")

    context = browser.new_context(base_url=live_service.base_url, locale="zh-CN", timezone_id="UTC", viewport=DESKTOP)
    staff: Page = context.new_page()
    staff.goto("/console/supervisor#tab=knowledge")
    staff.locator("#login-user").fill(admin)
    staff.locator("#login-pass").fill(PASSWORD)
    staff.get_by_role("button", name="登录").click()
    staff.locator(".kb__open", has_text=f"（{article}，").click()
    form = staff.locator(".kb__upload")
    form.locator("input[type=file]").set_input_files({"name": "step1.png", "mimeType": "image/png", "buffer": png()})
    form.locator("select").select_option("image")
    form.locator("input[name=caption]").fill(CAPTION)
    form.get_by_role("button", name="上传").click()
    shown = staff.locator(f'.kb__item img[alt="{CAPTION}"]')
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 40  # served back and drawn
    # A file that is not what it claims is refused with the server's words.
    form = staff.locator(".kb__upload")
    form.locator("input[type=file]").set_input_files({"name": "x.png", "mimeType": "image/png", "buffer": b"<svg/>"})
    form.locator("input[name=caption]").fill("假的")
    form.get_by_role("button", name="上传").click()
    expect(staff.locator("#toast")).to_contain_text("只支持")

    citizen_context = browser.new_context(base_url=live_service.base_url, locale="zh-CN", timezone_id="UTC",
                                          viewport=PHONE, is_mobile=True, has_touch=True)
    citizen = citizen_context.new_page()
    citizen.goto("/")
    citizen.locator("#input").fill(QUESTION)
    citizen.locator("#input").press("Enter")
    picture = citizen.locator(f'.msg__media img[alt="{CAPTION}"]')
    expect(picture).to_be_visible(timeout=30_000)
    expect(citizen.locator(".msg__media figcaption", has_text=CAPTION)).to_be_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 40
    width = picture.evaluate("img => img.getBoundingClientRect().right")
    assert width <= PHONE["width"]  # never wider than the phone
    citizen_context.close()

    # Removed again (the live system is shared by other browser tests).
    staff.once("dialog", lambda dialog: dialog.accept())
    staff.locator(".kb__item", has_text=CAPTION).get_by_role("button", name="删除").click()
    expect(staff.locator(f'img[alt="{CAPTION}"]')).to_have_count(0)
    context.close()
