"""The agents' standing in headless Chromium: a suspended agent sees the notice at login, is refused duty
and appeals from the notice; the 我的评价/排行榜 panel shows the score and the leaderboard (no citizen
data); the supervisor's 坐席考评 tab lists the suspension with the appeal and re-admits the agent, whose
page hears it live.

The service is the console's routes with the standing's on one small app, on fixed data
(tests/ratings/ratings_standing_seed.py: the suspended agent's score is 50.4)."""
from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page, expect

from agent_console.context import Console
from agent_console.routes import ROUTERS as CONSOLE_ROUTERS
from agent_console.routes.pages import STATIC_DIR as CONSOLE_STATIC_DIR
from channels import web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker, migrate
from core.settings import Settings
from ratings import suspensions
from ratings.context import Ratings
from ratings.routes import standing as standing_routes
from server.stack import free_port
from staff.models import Agent, Role
from tests.browser.conftest import DESKTOP
from tests.browser.helpers import served
from tests.callout.helpers import PASSWORD, FrozenClock, local, service_app, staff_login
from tests.ratings import ratings_standing_seed as seed

pytestmark = [pytest.mark.browser]
NOW = local(2026, 12, 7, 10)


def standing_app(ratings: Ratings) -> FastAPI:
    settings, sessions = ratings.settings, ratings.sessions
    bot = RasaClient("http://127.0.0.1:9", timeout_s=1)  # never called: nobody here talks to the bot
    console = Console(settings=settings, sessions=sessions, bus=ratings.bus, bot=bot, knowledge=None,
                      hub=Hub(sessions, ratings.bus, bot, None, settings.hotline, settings.bot_timeout_s))
    console.register_duty_gate(partial(suspensions.gate, ratings))
    app = service_app(settings, sessions, (Ratings, ratings), (Console, console),
                      routers=(*CONSOLE_ROUTERS, standing_routes.router))
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    return app


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("standing-pages")
    url = f"sqlite+aiosqlite:///{data / 'hpf.db'}"
    migrate(url)
    settings = Settings(data_dir=data, database_url=url)

    async def prepare() -> None:
        engine = make_engine(url)
        ratings = Ratings(settings=settings, sessions=make_sessionmaker(engine), bus=LocalBus(),
                          clock=FrozenClock(NOW))
        wang, _ = await staff_login(ratings, "wang", Role.AGENT)
        colleague, _ = await staff_login(ratings, "li", Role.AGENT)
        best, _ = await staff_login(ratings, "best", Role.AGENT)
        await staff_login(ratings, "lead", Role.SUPERVISOR)
        async with ratings.sessions() as session:
            for agent_id, name in ((wang, "王丽"), (colleague, "李强"), (best, "张敏")):
                (await session.get_one(Agent, agent_id)).display_name = name
            await session.commit()
        await seed.low_scorer(ratings, wang, colleague, NOW)
        for _ in range(5):
            await seed.rate(ratings, best, 5, NOW - timedelta(days=2))
        assert await suspensions.check_agent(ratings, None, wang) is not None
        await engine.dispose()

    # The browser's event loop owns this thread: the async seeding runs in a thread of its own.
    worker = threading.Thread(target=lambda: asyncio.run(prepare()))
    worker.start()
    worker.join()

    ratings = Ratings(settings=settings, sessions=make_sessionmaker(make_engine(url)), bus=LocalBus(),
                      clock=FrozenClock(NOW))
    with served(standing_app(ratings), free_port()) as base:
        yield base


def logged_in(browser: Browser, base: str, username: str, path: str) -> Page:
    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="UTC", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(path)
    page.locator("#login-user").fill(username)
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#me-name")).not_to_be_empty()
    return page


def test_suspension_notice_appeal_panel_and_readmission(browser: Browser, service: str) -> None:
    agent = logged_in(browser, service, "wang", "/console")
    notice = agent.locator("#standing-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("上岗资格已暂停")
    expect(notice).to_contain_text("评分低于上岗线")

    agent.locator("#duty-start").click()
    expect(agent.locator("#toast")).to_contain_text("暂停")
    expect(agent.locator("#duty-state")).not_to_have_text("在岗")

    agent.locator("#standing-appeal-text").fill("<b>差评系误评</b>，通话录音可证")
    agent.get_by_role("button", name="提交申诉").click()
    expect(notice).to_contain_text("已申诉：<b>差评系误评</b>")  # text, never markup

    agent.locator("#standing-toggle").click()
    panel = agent.locator("#standing-panel")
    expect(panel).to_contain_text("常态评分 50.4")
    expect(panel).to_contain_text("第 2 名（共 3 人）")
    expect(panel.locator("table tbody tr")).to_have_count(4)  # the supervisor serves too, with no score yet
    expect(panel.locator("table tbody tr").first).to_contain_text("张敏")
    expect(panel).to_contain_text("王丽（我）")
    text = panel.inner_text()
    assert seed.CITIZEN not in text and "市民的话" not in text

    lead = logged_in(browser, service, "lead", "/console/supervisor#tab=standing")
    tab = lead.locator('#sup section[data-tab="standing"]')
    expect(tab).to_be_visible()
    expect(tab).to_contain_text("王丽")
    expect(tab).to_contain_text("暂停待复核")
    expect(tab).to_contain_text("差评系误评")
    lead.once("dialog", lambda dialog: dialog.accept("申诉成立"))
    tab.get_by_role("button", name="恢复上岗").click()
    expect(tab).to_contain_text("已恢复")
    expect(tab.get_by_role("link", name="导出 XLSX")).to_have_attribute(
        "href", re.compile(r"^/api/v1/console/standing/sheet\?month=\d{4}-\d{2}&format=xlsx$"))

    expect(notice).to_be_hidden()  # the agent's page heard it on the socket
    agent.locator("#duty-start").click()
    expect(agent.locator("#duty-state")).to_have_text("在岗")
    agent.context.close()
    lead.context.close()
