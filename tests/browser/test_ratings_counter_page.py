"""好差评 at the counter on a phone, in headless Chromium: the page a window's QR code opens shows the office,
the window and the staff member's display name; the citizen taps a level, chooses a reason after a bad one,
writes a comment and sees the thanks; every touch target measures at least 44 px; a forged code gets a
Chinese page. The ratings' routes run on a small app of their own. A screenshot of each state goes to
HPF_SCREENSHOTS (default data/screenshots/) for people to look at."""
from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.bus import LocalBus
from core.clock import SystemClock
from core.db import make_engine, make_sessionmaker, migrate
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from ratings import counters
from ratings.context import Ratings
from ratings.models import Rating
from ratings.routes import counter_page
from server.stack import free_port
from staff import accounts, passwords
from staff.audit import SYSTEM
from staff.context import Staff
from staff.models import Role
from tests.agent_console.helpers import CHEAP_HASHER
from tests.browser.helpers import served

pytestmark = [pytest.mark.browser]
PHONE = {"width": 375, "height": 812}
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("HPF_SCREENSHOTS", ROOT / "data" / "screenshots"))
MIN_TOUCH_PX = 44


def on_own_loop(ratings: Ratings, work: Callable[[Ratings], Any]) -> Any:
    """Run `work` with its own engine on its own thread and loop: Playwright's loop holds this thread."""
    async def run() -> Any:
        engine = make_engine(ratings.settings.database_url)
        own = Ratings(settings=ratings.settings, sessions=make_sessionmaker(engine), bus=LocalBus(),
                      clock=SystemClock())
        try:
            return await work(own)
        finally:
            await engine.dispose()

    done: list[Any] = []
    worker = threading.Thread(target=lambda: done.append(asyncio.run(run())))
    worker.start()
    worker.join(timeout=30)
    return done[0]


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[tuple[str, Ratings, str]]:
    data = tmp_path_factory.mktemp("counter-page")
    url = f"sqlite+aiosqlite:///{data / 'ratings.db'}"
    migrate(url)
    port = free_port()
    settings = Settings(data_dir=data, database_url=url, public_base_url=f"http://127.0.0.1:{port}")
    ratings = Ratings(settings=settings, sessions=make_sessionmaker(make_engine(url)), bus=LocalBus(),
                      clock=SystemClock())

    async def window(own: Ratings) -> str:
        passwords._hasher = CHEAP_HASHER
        staff = Staff(settings=own.settings, sessions=own.sessions)
        agent = await accounts.create(staff, username="zhang.wei", password="secret-pass-1", role=Role.AGENT,
                                      capacity=3, display_name="张伟", skills=None, actor=SYSTEM)
        async with own.sessions() as session:
            made = await counters.create(session, SYSTEM, office="congtai", window="7", agent_id=agent.id,
                                         department=None, now=own.clock.now())
            return counters.rating_url(own.settings, made)

    qr_url = on_own_loop(ratings, window)
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, settings)
    services.provide(async_sessionmaker, ratings.sessions)
    services.provide(Ratings, ratings)
    app.include_router(counter_page.router)
    with served(app, port) as base:
        yield base, ratings, qr_url


def phone(browser: Browser) -> tuple[Page, list[str]]:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    context.set_default_timeout(20_000)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    return page, refused


def too_small(page: Page, selector: str) -> list[str]:
    """The visible elements of `selector` smaller than a fingertip (44 × 44 CSS px), measured in the DOM."""
    small = []
    for element in page.locator(selector).all():
        if not element.is_visible():
            continue
        box = element.bounding_box()
        assert box is not None
        if box["width"] < MIN_TOUCH_PX or box["height"] < MIN_TOUCH_PX:
            small.append(f"{element.inner_text()!r} {box['width']:.0f}×{box['height']:.0f}")
    return small


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_citizen_rates_a_counter_visit_from_the_qr_code(browser: Browser, service) -> None:
    _base, ratings, qr_url = service
    page, refused = phone(browser)
    page.goto(qr_url)
    expect(page.locator("#rate h1")).to_have_text("请为本次服务评价")
    expect(page.locator("#office")).to_have_text("丛台区管理部")
    expect(page.locator("#window")).to_have_text("7号窗口")
    expect(page.locator("#staff")).to_have_text("张伟")
    assert "zhang.wei" not in page.content()
    levels = page.locator(".level")
    expect(levels).to_have_text(["非常满意", "满意", "基本满意", "不满意", "非常不满意"])
    assert too_small(page, ".level") == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.locator("#reasons")).to_be_hidden()
    shot(page, "ratings-counter-phone")

    page.locator(".level", has_text="非常不满意").tap()
    page.locator(".level", has_text="满意").first.tap()  # changed their mind: 非常满意 hides the reasons
    expect(page.locator("#reasons")).to_be_hidden()
    page.locator("[data-level='2']").tap()
    expect(page.locator("[data-level='2']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#reasons")).to_be_visible()
    assert too_small(page, ".reason") == [] and too_small(page, "#submit") == []
    page.locator(".reason", has_text="等待时间长").tap()
    page.locator("#comment").fill("<b>排队</b>太久了")
    shot(page, "ratings-counter-bad-phone")
    page.locator("#submit").tap()
    expect(page.locator("#thanks")).to_be_visible()
    expect(page.locator("#thanks h1")).to_have_text("感谢您的评价")
    expect(page.locator("#thanks-text")).to_contain_text("核实情况并整改")
    expect(page.locator("#rate")).to_be_hidden()
    shot(page, "ratings-counter-thanks-phone")
    assert refused == []

    async def stored(own: Ratings) -> list[tuple]:
        async with own.sessions() as session:
            return [(r.level, r.reasons, r.comment, r.counter, r.kind)
                    for r in await session.scalars(select(Rating))]

    assert on_own_loop(ratings, stored) == [(2, ["等待时间长"], "<b>排队</b>太久了", "congtai-7", "counter")]
    page.context.close()


def test_a_forged_code_gets_a_chinese_page(browser: Browser, service) -> None:
    base, _ratings, qr_url = service
    page, _refused = phone(browser)
    token = qr_url.rsplit("/", 1)[1]
    answer = page.goto(f"{base}/rate/c/{token[:-2]}xx")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("二维码无法使用")
    expect(page.locator("body")).to_have_attribute("data-code", "counter_token_invalid")
    expect(page.locator(".level")).to_have_count(0)
    page.context.close()
