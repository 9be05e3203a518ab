"""好差评 on the citizen's web page, in headless Chromium: the chat page and its socket on a small app with
the hub, ratings wired in and a fake Rasa. After the bot answered, the citizen's thanks brings the rating
widget (five labelled levels, best first); the citizen taps 不满意, the widget is spent and says so, the
reasons come next, then a comment with markup that stays text; one rating holds it all."""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import async_sessionmaker

from channels import web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import EventBus, LocalBus
from core.clock import SystemClock
from core.db import make_engine, make_sessionmaker, migrate
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from fakes.rasa import FakeRasa
from ratings.context import Ratings
from ratings.conversation import ConversationRatings
from server.stack import free_port
from tests.browser.conftest import PHONE
from tests.browser.console_desk import screenshot
from tests.browser.helpers import served

pytestmark = [pytest.mark.browser]
LABELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">回答不对"


@dataclass
class Site:
    base: str
    database: str
    rasa: FakeRasa


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("ratings-widget")
    url = f"sqlite+aiosqlite:///{data / 'hpf.db'}"
    migrate(url)
    with FakeRasa() as rasa:
        settings = Settings(data_dir=data, database_url=url, rasa_url=rasa.url)
        sessions = make_sessionmaker(make_engine(url))
        bus = LocalBus()
        bot = RasaClient(rasa.url, timeout_s=2.0)
        hub = Hub(sessions, bus, bot, None, "12329", bot_deadline_s=2.0)
        ratings = Ratings(settings=settings, sessions=sessions, bus=bus, clock=SystemClock())
        hub.register_interceptor(ConversationRatings(ratings, bot))
        app = FastAPI()
        install_error_handlers(app)
        services = app.state.services = Services()
        for kind, part in ((Settings, settings), (async_sessionmaker, sessions), (Hub, hub), (EventBus, bus),
                           (Ratings, ratings)):
            services.provide(kind, part)
        app.include_router(web.router)
        app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
        with served(app, free_port()) as base:
            yield Site(base=base, database=str(data / "hpf.db"), rasa=rasa)


def say(page: Page, text: str) -> None:
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    mine = page.locator("#messages .msg--citizen").filter(has=page.get_by_text(text, exact=True))
    expect(mine.last).to_have_attribute("data-id", re.compile(r"^\d+$"))


def test_the_rating_widget_takes_a_level_then_reasons_and_a_comment(browser: Browser, site: Site) -> None:
    context = browser.new_context(base_url=site.base, locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    citizen = context.new_page()
    citizen.goto("/")
    expect(citizen.locator("#conn")).to_have_attribute("data-state", "online")
    say(citizen, "提取公积金要什么材料")
    expect(citizen.locator("#messages .msg--bot").last).to_contain_text("收到：提取公积金要什么材料")
    token = citizen.evaluate("localStorage.getItem('hpf.visitor')")
    conversation_id = httpx.post(f"{site.base}/api/v1/web/session", json={"visitor_token": token}).json()[
        "conversation_id"]
    site.rasa.trackers[conversation_id] = {"active_loop": {}, "latest_message": {"intent": {"name": "withdraw-rent"}}}

    say(citizen, "谢谢")
    widget = citizen.locator("#messages .msg--system").filter(has_text="请为本次智能客服的服务打分")
    levels = widget.get_by_role("group", name="服务评价")
    expect(levels.get_by_role("button")).to_have_text(LABELS)
    screenshot(citizen, "ratings-widget-levels-phone")
    levels.get_by_role("button", name="不满意", exact=True).click()

    expect(levels.get_by_role("button", name="不满意", exact=True)).to_have_attribute("aria-pressed", "true")
    for button in levels.get_by_role("button").all():
        expect(button).to_be_disabled()
    expect(widget.locator(".rating__done")).to_have_text("已评价：不满意")
    reasons = citizen.locator("#messages .msg--system").filter(has_text="请选择主要原因")
    expect(reasons.get_by_role("group", name="评价原因").get_by_role("button")).to_have_count(7)
    reasons.get_by_role("button", name="答非所问").click()
    expect(citizen.locator("#messages .msg--system").last).to_contain_text("一句话")

    say(citizen, HOSTILE)
    expect(citizen.locator("#messages .msg--system").last).to_contain_text("已记录您的意见")
    assert citizen.locator("#messages img[src='x']").count() == 0 and citizen.title() != "pwned"
    expect(citizen.get_by_role("button", name="跳过").last).to_be_disabled()  # the comment is in: nothing to skip
    screenshot(citizen, "ratings-widget-done-phone")

    with sqlite3.connect(site.database) as db:
        rows = db.execute("SELECT level, reasons, comment, kind, channel FROM ratings").fetchall()
    assert [(level, json.loads(reasons), *rest) for level, reasons, *rest in rows] == [
        (2, ["答非所问"], HOSTILE, "bot", "web")]
    context.close()
