"""窗口评价二维码, the supervisors' page, in headless Chromium: a supervisor logs in, adds a window of an
office with its staff member, opens its printable sheet (the office, the window, the display name and the
code), changes who serves there (the code's version moves on) and closes the window. The console's login
and roster and the ratings' window routes run on a small app; nothing outside it is reached."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from agent_console.context import Console
from agent_console.routes import STATIC_DIR as CONSOLE_STATIC_DIR
from agent_console.routes import agents as agent_routes
from agent_console.routes import auth as auth_routes
from channels import web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import EventBus, LocalBus
from core.clock import SystemClock
from core.db import make_engine, make_sessionmaker, migrate
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from ratings.context import Ratings
from ratings.models import CounterWindow
from ratings.routes import counters as counter_routes
from server.stack import free_port
from staff import accounts, passwords
from staff.audit import SYSTEM
from staff.context import Staff
from staff.models import Role
from tests.agent_console.helpers import CHEAP_HASHER
from tests.browser.helpers import served

pytestmark = [pytest.mark.browser]
PASSWORD = "secret-pass-1"
DESKTOP = {"width": 1280, "height": 800}


def on_own_loop(database_url: str, work: Callable[[async_sessionmaker], Any]) -> Any:
    """`work` with its own engine on its own thread and loop (Playwright's loop holds this thread)."""
    async def run() -> Any:
        engine = make_engine(database_url)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    done: list[Any] = []
    worker = threading.Thread(target=lambda: done.append(asyncio.run(run())))
    worker.start()
    worker.join(timeout=30)
    return done[0]


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[tuple[str, str]]:
    data = tmp_path_factory.mktemp("counters-console")
    url = f"sqlite+aiosqlite:///{data / 'hpf.db'}"
    migrate(url)
    settings = Settings(data_dir=data, database_url=url, public_base_url="https://gjj.example.gov.cn",
                        rasa_url=f"http://127.0.0.1:{free_port()}")

    async def people(sessions: async_sessionmaker) -> None:
        passwords._hasher = CHEAP_HASHER
        staff = Staff(settings=settings, sessions=sessions)
        await accounts.create(staff, username="lead", password=PASSWORD, role=Role.SUPERVISOR, capacity=3,
                              display_name="窗口组长", skills=None, actor=SYSTEM)
        await accounts.create(staff, username="zhang.wei", password=PASSWORD, role=Role.AGENT, capacity=3,
                              display_name="张伟", skills=None, actor=SYSTEM)

    on_own_loop(url, people)
    sessions = make_sessionmaker(make_engine(url))
    bus, bot = LocalBus(), RasaClient(settings.rasa_url, timeout_s=0.5)
    hub = Hub(sessions, bus, bot, None, settings.hotline, bot_deadline_s=0.5)
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, settings)
    services.provide(async_sessionmaker, sessions)
    services.provide(EventBus, bus)
    services.provide(Console, Console(settings=settings, sessions=sessions, bus=bus, hub=hub, bot=bot, knowledge=None))
    services.provide(Ratings, Ratings(settings=settings, sessions=sessions, bus=bus, clock=SystemClock()))
    for router in (auth_routes.router, agent_routes.router, counter_routes.router, counter_routes.pages):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    with served(app, free_port()) as base:
        yield base, url


def test_a_supervisor_adds_a_window_prints_its_code_and_changes_it(browser: Browser, service) -> None:
    base, url = service
    context = browser.new_context(base_url=base, locale="zh-CN", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto("/console/counters")
    page.locator("#login-user").fill("lead")
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#me-name")).to_contain_text("窗口组长")

    page.locator("#n-office").select_option(label="丛台区管理部")
    page.locator("#n-window").fill("5")
    page.locator("#n-agent").select_option(label="张伟")
    page.get_by_role("button", name="新增").click()
    row = page.locator("tr[data-window='congtai-5']")
    expect(row).to_contain_text("5号窗口")
    expect(row).to_contain_text("丛台区管理部")
    expect(row.locator("select")).to_have_value(re_id(page, "张伟"))

    with context.expect_page() as opened:
        row.get_by_role("link", name="打印二维码").click()
    sheet = opened.value
    expect(sheet.locator(".qr svg")).to_be_visible()
    expect(sheet.locator("#staff")).to_have_text("张伟")
    expect(sheet.locator("#window")).to_have_text("5号窗口")
    sheet.close()

    row.locator("select").select_option(label="（不指定）")
    expect(page.locator("#toast")).to_contain_text("服务人员已更换")
    row.get_by_role("button", name="停用").click()
    expect(row).to_contain_text("已停用")

    async def stored(sessions: async_sessionmaker) -> tuple:
        async with sessions() as session:
            window = await session.scalar(select(CounterWindow).where(CounterWindow.code == "congtai-5"))
            return window.agent_id, window.active, window.token_version

    assert on_own_loop(url, stored) == (None, False, 2)
    assert refused == []
    context.close()


def re_id(page, display_name: str) -> str:
    """The value (account id) of `display_name` in the new-window form's staff list."""
    return page.locator("#n-agent option", has_text=display_name).get_attribute("value")
