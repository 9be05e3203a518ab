"""The 好差评 pages in headless Chromium on the fixed ratings of tests/ratings/ratings_analysis_seed.py:
the public page (no login) shows the month's aggregates and nothing personal; a supervisor's analysis
page draws its charts for dates typed yyyy-mm-dd; the wall view shows the overdue case and a rating the
moment it arrives; an agent is turned away.

The service is the console's login and the ratings' routes on one small app (nothing else is needed)."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page, expect

from agent_console.context import Console
from agent_console.routes import auth as console_auth
from agent_console.routes.pages import STATIC_DIR as CONSOLE_STATIC_DIR
from channels import web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker, migrate
from core.settings import Settings
from ratings.context import Ratings
from ratings.events import TOPIC, RatingNew
from ratings.routes import analysis as analysis_routes
from ratings.routes import public as public_routes
from ratings.routes import wall as wall_routes
from server.stack import free_port
from staff.models import Role
from tests.browser.conftest import DESKTOP
from tests.browser.helpers import served
from tests.callout.helpers import PASSWORD, FrozenClock, service_app, staff_login
from tests.ratings.ratings_analysis_seed import CITIZEN, NOW, SECRET_COMMENT, on_database, seed

pytestmark = [pytest.mark.browser]


def ratings_app(ratings: Ratings) -> FastAPI:
    settings, sessions = ratings.settings, ratings.sessions
    bot = RasaClient("http://127.0.0.1:9", timeout_s=1)  # never called: the pages only log in
    console = Console(settings=settings, sessions=sessions, bus=ratings.bus, bot=bot, knowledge=None,
                      hub=Hub(sessions, ratings.bus, bot, None, settings.hotline, settings.bot_timeout_s))
    app = service_app(settings, sessions, (Ratings, ratings), (Console, console),
                      routers=(console_auth.router, analysis_routes.router, wall_routes.router,
                               public_routes.router))

    @app.post("/test/arrive")
    async def arrive() -> dict:  # a rating arrives, as record_rating announces it
        await ratings.bus.publish(TOPIC, RatingNew(rating_id=99, level=2, channel="wechat", kind="agent",
                                                   business="loan-apply", department="贷款科", agent_id=1, bad=True))
        return {}

    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    return app


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("ratings-pages")
    url = f"sqlite+aiosqlite:///{data / 'hpf.db'}"
    migrate(url)

    async def prepare() -> None:
        async with on_database(url, data) as ratings:
            await seed(ratings)
            await staff_login(ratings, "lead", Role.SUPERVISOR)
            await staff_login(ratings, "desk", Role.AGENT)

    # The browser's event loop owns this thread: the async seeding runs in a thread of its own.
    worker = threading.Thread(target=lambda: asyncio.run(prepare()))
    worker.start()
    worker.join()

    public_routes._cache.clear()
    ratings = Ratings(settings=Settings(data_dir=data, database_url=url),
                      sessions=make_sessionmaker(make_engine(url)), bus=LocalBus(), clock=FrozenClock(NOW))
    with served(ratings_app(ratings), free_port()) as base:
        yield base


def logged_in(browser: Browser, base: str, username: str, path: str) -> Page:
    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="UTC", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(path)
    page.locator("#login-user").fill(username)
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    return page


def test_the_public_page_shows_aggregates_and_nothing_personal(browser: Browser, service: str) -> None:
    context = browser.new_context(base_url=service, locale="zh-CN", timezone_id="UTC", viewport=DESKTOP)
    page = context.new_page()
    page.goto("/ratings/public?month=2026-11")
    expect(page.locator("#cards")).to_contain_text("2026-11 评价数")
    expect(page.locator("#cards")).to_contain_text("54.0%")  # satisfaction: (10+8+6+3+0)/5/10
    expect(page.locator("#department")).to_contain_text("提取科")
    expect(page.locator("#business")).to_contain_text("公积金贷款申请")
    expect(page.locator("#channel")).to_contain_text("微信")
    expect(page.locator("#months svg rect")).to_have_count(2)  # October and November
    body = page.content()
    answer = page.request.get(f"{service}/api/v1/ratings/public?month=2026-11").text()
    for personal in ("王丽", "李强", "wangli", "liqiang", "张小明", "13912345678", SECRET_COMMENT, CITIZEN, "坐席"):
        assert personal not in body and personal not in answer, personal
    page.locator("#month").fill("11/2026")
    page.get_by_role("button", name="查看").click()
    expect(page.locator("#error")).to_contain_text("yyyy-mm")
    context.close()


def test_a_supervisor_charts_a_month(browser: Browser, service: str) -> None:
    page = logged_in(browser, service, "lead", "/console/ratings")
    expect(page.locator("#overall")).not_to_be_empty()
    page.locator("#f-from").fill("2026-11-01")
    page.locator("#f-to").fill("2026-11-30")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#overall")).to_contain_text("54.0%")
    expect(page.locator("#overall")).to_contain_text("另有申诉撤销 1 条")
    expect(page.locator("#chart-agent")).to_contain_text("王丽")
    expect(page.locator("#chart-agent")).to_contain_text("智能客服")
    expect(page.locator("#chart-period svg circle")).to_have_count(4)  # four days with counted ratings
    expect(page.locator("#chart-reasons")).to_contain_text("态度不好")
    expect(page.locator("#rectify")).to_contain_text("50.0%")  # replied on time: one of two closed
    page.locator("#f-from").fill("11/01/2026")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#f-error")).to_contain_text("yyyy-mm-dd")
    page.locator("#f-month").fill("2026-11")
    assert page.locator("#report-pdf").get_attribute("href") == "/api/v1/console/ratings/report?month=2026-11&format=pdf"


def test_the_wall_shows_ratings_as_they_arrive(browser: Browser, service: str) -> None:
    page = logged_in(browser, service, "lead", "/console/wall")
    expect(page.locator("#t-overdue")).to_have_text("1")
    expect(page.locator("#overdue")).to_contain_text("提取科")
    expect(page.locator("#wall-conn")).to_have_attribute("data-state", "online")
    page.request.post(f"{service}/test/arrive")
    expect(page.locator("#feed li").first).to_contain_text("不满意")
    expect(page.locator("#feed li").first).to_contain_text("贷款科")


def test_an_agent_is_turned_away(browser: Browser, service: str) -> None:
    page = logged_in(browser, service, "desk", "/console/ratings")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#ra")).to_be_hidden()
