"""The funnel page in headless Chromium: a supervisor logs in, sees a bar per stage for each campaign of a
seeded funnel with its conversions, filters by channel, finds the export links carrying the filters; a
campaign name and a segment key written to break the page are shown as text. An agent is turned away.

The service here is the console's login, the funnel routes and the static files on one small app (the
page needs nothing else), so the test does not wait for the knowledge index."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import Session

from agent_console.context import Console
from agent_console.routes import auth as console_auth
from agent_console.routes.pages import STATIC_DIR as CONSOLE_STATIC_DIR
from callout.funnel_campaigns import campaign_infos
from callout.models import Campaign
from channels import web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker, migrate, utcnow
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings, normalise_db_url
from outreach import funnel
from outreach.context import Outreach
from outreach.funnel import Stage
from outreach.models import FunnelEvent
from outreach.routes import funnel as funnel_routes
from server.stack import free_port
from staff.models import Agent
from tests.agent_console.helpers import CHEAP_HASHER, PASSWORD
from tests.browser.conftest import DESKTOP
from tests.browser.helpers import served

pytestmark = [pytest.mark.browser]

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


def seed(url: str) -> None:
    """Two supervisors' worth of data: accounts, a campaign with a hostile name, its people's stages."""
    engine = create_engine(normalise_db_url(url, sync=True))
    with Session(engine) as session:
        lead = Agent(username="lead", display_name="主管", password_hash=CHEAP_HASHER.hash(PASSWORD),
                     role="supervisor", capacity=3, skills=[], active=True, created_at=utcnow())
        desk = Agent(username="desk", display_name="客服", password_hash=CHEAP_HASHER.hash(PASSWORD),
                     role="agent", capacity=3, skills=[], active=True, created_at=utcnow())
        planner = Agent(username="planner", display_name="外呼专员", password_hash=CHEAP_HASHER.hash(PASSWORD),
                        role="campaigner", capacity=3, skills=[], active=True, created_at=utcnow())
        session.add_all([lead, desk, planner])
        session.flush()
        hostile = Campaign(name=f"还款提醒{HOSTILE}", message="您好", created_by=lead.id, channel="sms")
        plain = Campaign(name="可贷额度告知", message="您好", created_by=planner.id, channel="wechat")
        session.add_all([hostile, plain])
        session.commit()
        # Each campaign: 20 sent, 16 delivered, 8 opened, 5 through the checklist, 3 to the form, 2 completed.
        # (Written straight in: the browser's event loop owns this thread; record() is tested elsewhere.)
        reached = {Stage.SENT: 20, Stage.DELIVERED: 16, Stage.OPENED: 8, Stage.CHECKLIST: 5,
                   Stage.HANDED_OFF: 3, Stage.COMPLETED: 2}
        at = utcnow() - timedelta(hours=1)
        for campaign, segment in ((hostile, HOSTILE), (plain, "could_borrow")):
            session.add_all(
                FunnelEvent(subject=f"r:{campaign.id}-{n}", stage=stage.value, campaign_id=campaign.id,
                            segment=segment, channel=campaign.channel, business="withdraw-repay-commercial-loan",
                            at=at)
                for stage, count in reached.items() for n in range(count))
        session.commit()
    engine.dispose()


def funnel_app(settings: Settings) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    sessions = make_sessionmaker(make_engine(settings.database_url))
    bus = LocalBus()
    bot = RasaClient("http://127.0.0.1:9", timeout_s=1)  # never called: the page only logs in
    services.provide(Settings, settings)
    services.provide(async_sessionmaker, sessions)
    services.provide(Console, Console(settings=settings, sessions=sessions, bus=bus, bot=bot, knowledge=None,
                                      hub=Hub(sessions, bus, bot, None, settings.hotline, settings.bot_timeout_s)))
    services.provide(Outreach, Outreach(settings=settings, sessions=sessions))
    services.provide(funnel.Campaigns, campaign_infos)
    app.include_router(console_auth.router)
    app.include_router(funnel_routes.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    return app


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("funnel-page")
    url = f"sqlite+aiosqlite:///{data / 'hpf.db'}"
    migrate(url)
    seed(url)
    port = free_port()
    settings = Settings(data_dir=data, database_url=url)
    with served(funnel_app(settings), port) as base:
        yield base


def logged_in(browser: Browser, base: str, username: str, path: str = "/console/funnel") -> Page:
    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="UTC", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(path)
    page.locator("#login-user").fill(username)
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#me-name")).not_to_be_empty()
    return page


def test_the_funnel_page_draws_bars_and_shows_hostile_names_as_text(browser: Browser, service: str) -> None:
    page = logged_in(browser, service, "lead")
    blocks = page.locator("#rows .funnel__row:not(.funnel__row--total)")
    expect(blocks).to_have_count(2)
    hostile = blocks.filter(has_text="还款提醒")
    expect(hostile.locator(".funnel__label")).to_contain_text(f"还款提醒{HOSTILE}")  # the markup, as text
    expect(hostile.locator(".funnel__label")).to_contain_text(f"人群：{HOSTILE}")
    expect(hostile.locator(".funnel__stage")).to_have_count(6)
    expect(hostile.locator('.funnel__stage[data-stage="sent"]')).to_have_attribute("data-count", "20")
    expect(hostile.locator('.funnel__stage[data-stage="completed"]')).to_have_attribute("data-count", "2")
    expect(hostile).to_contain_text("16（80.0%）")  # delivered over sent
    expect(hostile.locator(".funnel__rate")).to_contain_text("办结率 10.0%")
    widths = [float(hostile.locator(f'.funnel__stage[data-stage="{s}"] rect').get_attribute("width") or 0)
              for s in ("sent", "delivered", "completed")]
    assert widths[0] > widths[1] > widths[2] > 0, "bars shrink down the funnel"
    expect(page.locator("#rows .funnel__row--total")).to_contain_text("合计")
    expect(page.locator("#summary")).to_contain_text("办结 4 人")
    assert page.locator("#rows img, #rows script").count() == 0, "nothing from a name became an element"
    assert page.title() != "pwned"

    page.locator("#f-channel").select_option("wechat")
    page.get_by_role("button", name="查询").click()
    expect(blocks).to_have_count(1)
    expect(blocks.first).to_contain_text("可贷额度告知")
    href = page.locator("#export-xlsx").get_attribute("href") or ""
    assert "format=xlsx" in href and "channel=wechat" in href
    with page.expect_download() as download:
        page.locator("#export-csv").click()
    assert download.value.suggested_filename.endswith(".csv")
    assert page.title() != "pwned"


def test_a_campaigner_sees_the_funnel_of_their_own_campaign(browser: Browser, service: str) -> None:
    """Opened from the campaign's card (/console/funnel?campaign_id=…); the second campaign is theirs."""
    page = logged_in(browser, service, "planner", "/console/funnel?campaign_id=2")
    expect(page.locator("#f-campaign")).to_have_value("2")
    blocks = page.locator("#rows .funnel__row")
    expect(blocks).to_have_count(1)
    expect(blocks.first).to_contain_text("可贷额度告知")
    page.locator("#f-campaign").fill("1")  # someone else's
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#toast")).to_contain_text("只能查看自己创建的任务")


def test_an_agent_is_turned_away(browser: Browser, service: str) -> None:
    page = logged_in(browser, service, "desk")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#funnel")).to_be_hidden()
