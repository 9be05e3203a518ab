"""The supervisor page's 差评整改 tab in headless Chromium: a bad rating's case listed with its department
and deadlines, verified with a note from the prompt, and its detail showing the citizen's comment as text
(markup never runs). Screenshots go to data/screenshots/."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, expect

from agent_console.context import Console
from agent_console.routes import ROUTERS as CONSOLE_ROUTERS
from agent_console.routes.pages import STATIC_DIR as CONSOLE_STATIC_DIR
from channels import web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker, migrate
from core.settings import Settings
from ratings.context import Ratings
from ratings.record import record_rating
from ratings.routes import cases as case_routes
from server.stack import free_port
from staff.models import Role
from tests.browser.console_desk import new_page, screenshot
from tests.browser.helpers import served
from tests.callout.helpers import PASSWORD, service_app, staff_login

pytestmark = [pytest.mark.browser]
COMMENT = "<img src=x onerror=alert(1)>办理太慢"


def cases_app(ratings: Ratings) -> FastAPI:
    """The console (its login, pages and routes) and the cases' routes on one small app: no knowledge
    index to build, so it starts in seconds."""
    settings, sessions = ratings.settings, ratings.sessions
    bot = RasaClient("http://127.0.0.1:9", timeout_s=1)  # never called
    hub = Hub(sessions, ratings.bus, bot, None, settings.hotline, settings.bot_timeout_s)
    console = Console(settings=settings, sessions=sessions, bus=ratings.bus, bot=bot, knowledge=None, hub=hub)
    app = service_app(settings, sessions, (Ratings, ratings), (Console, console), (Hub, hub),
                      routers=(*CONSOLE_ROUTERS, case_routes.router))
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    return app


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("ratings-cases")
    url = f"sqlite+aiosqlite:///{data / 'hpf.db'}"
    migrate(url)
    ratings = Ratings(settings=Settings(data_dir=data, database_url=url),
                      sessions=make_sessionmaker(make_engine(url)), bus=LocalBus())

    async def prepare() -> None:
        engine = make_engine(url)
        on_db = Ratings(settings=ratings.settings, sessions=make_sessionmaker(engine), bus=LocalBus())
        await staff_login(on_db, "lead", Role.SUPERVISOR)
        async with on_db.sessions() as session:
            await record_rating(on_db, session, event_key="browser:1", kind="agent", channel="wechat", level=1,
                                reasons=["等待时间长"], comment=COMMENT, business="withdraw-rent")
        await engine.dispose()

    # The browser's event loop owns this thread: the async seeding runs in a thread of its own.
    worker = threading.Thread(target=lambda: asyncio.run(prepare()))
    worker.start()
    worker.join()
    with served(cases_app(ratings), free_port()) as base:
        yield base


def test_a_supervisor_works_a_case_from_the_tab(browser: Browser, service: str) -> None:
    page = new_page(browser, service)
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.accept("已调取记录核实")))
    page.goto("/console/supervisor")
    page.locator("#login-user").fill("lead")
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#me-name")).not_to_be_empty()
    page.get_by_role("tab", name="差评整改").click()
    row = page.locator("#tab-cases tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("非常不满意")
    expect(row).to_contain_text("提取科")
    expect(row).to_contain_text("待核实")
    screenshot(page, "supervisor-cases")

    row.get_by_role("button", name="核实").click()
    expect(row).to_contain_text("已核实")
    assert alerts and "核实" in alerts[0], "the note is asked for"

    row.get_by_role("button", name="详情").click()
    detail = page.locator("#tab-cases .cases__detail")
    expect(detail.locator(".cases__comment")).to_have_text(f"留言：{COMMENT}")
    expect(detail).to_contain_text("已调取记录核实")
    assert detail.locator("img").count() == 0, "the comment is text, never markup"
    assert not any("1" == a for a in alerts), "no script from the comment ran"
    page.context.close()
