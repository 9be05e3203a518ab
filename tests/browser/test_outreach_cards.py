"""Personal cards in headless Chromium: the chat page shows its visitor's card above the conversation,
the WeChat menu's landing page /me lists it on a phone with a button to the personal link, and a hostile
card text is shown as text. The service here is the web channel and the card routes on a fake Rasa (no
knowledge index to build)."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy.ext.asyncio import async_sessionmaker

from channels import web
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from conversations.models import Citizen, Identity
from core.bus import EventBus, LocalBus
from core.db import make_engine, make_sessionmaker, migrate, utcnow
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from core.signing import sign
from fakes.rasa import FakeRasa
from outreach import cards, links
from outreach.context import Outreach
from outreach.routes import cards as card_routes
from server.stack import free_port
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.helpers import served

pytestmark = [pytest.mark.browser]
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"
BUSINESS = "withdraw-repay-commercial-loan"


@dataclass
class Service:
    base: str
    settings: Settings
    database: str

    def visitor_token(self, visitor: str) -> str:
        return sign(self.settings.session_secret.get_secret_value(), web.TOKEN_PURPOSE, visitor)

    def seed(self, visitor: str, *cards_: tuple[str, str], business: str = BUSINESS) -> list[str]:
        """A citizen whose web visitor is `visitor`, with a card per (title, text); their link URLs."""
        # Playwright's sync API keeps an event loop running on this thread: seed from another one.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._seed(visitor, cards_, business)).result()

    async def _seed(self, visitor: str, items: tuple[tuple[str, str], ...], business: str) -> list[str]:
        engine = make_engine(self.database)
        urls = []
        try:
            async with make_sessionmaker(engine)() as session:
                citizen = Citizen()
                session.add(citizen)
                session.add(Identity(citizen=citizen, kind="web", value=visitor))
                await session.flush()
                for title, text in items:
                    row, issued = links.new_link(self.settings, business=business, now=utcnow(),
                                                 citizen_id=citizen.id, ttl_s=86400)
                    session.add(row)
                    await session.flush()
                    await cards.post_card(session, citizen_id=citizen.id, business=business, title=title, text=text,
                                          link_id=row.id, campaign_id=None, recipient_id=None,
                                          expires_at=utcnow() + timedelta(days=1))
                    urls.append(issued.url)
                await session.commit()
        finally:
            await engine.dispose()
        return urls


def service_app(settings: Settings, rasa_url: str) -> tuple[FastAPI, RasaClient]:
    sessions = make_sessionmaker(make_engine(settings.database_url))
    bus, bot = LocalBus(), RasaClient(rasa_url, timeout_s=2.0)
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, settings)
    services.provide(async_sessionmaker, sessions)
    services.provide(EventBus, bus)
    services.provide(Hub, Hub(sessions, bus, bot, None, settings.hotline, bot_deadline_s=2.0))
    services.provide(Outreach, Outreach(settings=settings, sessions=sessions))
    app.include_router(web.router)
    app.include_router(card_routes.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    return app, bot


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    folder = tmp_path_factory.mktemp("cards-page")
    database = f"sqlite+aiosqlite:///{folder / 'cards.db'}"
    migrate(database)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=folder, database_url=database, public_base_url=base)
    with FakeRasa() as rasa:
        app, _bot = service_app(settings, rasa.url)
        with served(app, port, start_s=30, poll_s=0.05):
            yield Service(base=base, settings=settings, database=database)


def context_for(browser: Browser, service: Service, token: str | None, **options: object) -> BrowserContext:
    """A fresh browser whose storage holds `token` as the chat page (or WeChat's authorisation) keeps it."""
    context = browser.new_context(base_url=service.base, locale="zh-CN", timezone_id="UTC", **options)
    context.set_default_timeout(20_000)
    if token:
        context.add_init_script(f"localStorage.setItem('hpf.visitor', {token!r});")
    return context


def watched(context: BrowserContext) -> tuple[Page, list[str]]:
    """A page whose dialogs (a hostile script running) and CSP refusals are collected, not hidden."""
    page = context.new_page()
    problems: list[str] = []
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    return page, problems


def test_chat_page_shows_the_visitors_card_above_the_conversation(browser: Browser, service: Service) -> None:
    [url] = service.seed("visitor-chat", ("十二月还款提醒", "您有商业贷款，可以按月提取公积金还贷。"))
    context = context_for(browser, service, service.visitor_token("visitor-chat"), viewport=DESKTOP)
    page, problems = watched(context)
    page.goto("/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    card = page.locator("#cards .card")
    expect(card).to_have_count(1)
    expect(card.locator(".card__label")).to_have_text("您可以办理：偿还商业贷款提取")
    expect(card.locator(".card__text")).to_have_text("您有商业贷款，可以按月提取公积金还贷。")
    expect(card.get_by_role("link", name="立即办理")).to_have_attribute("href", url)
    # Above the conversation: the cards come before the welcome and the messages.
    assert page.evaluate("""() => {
        const cards = document.getElementById('cards'), messages = document.getElementById('messages');
        return !!(cards.compareDocumentPosition(messages) & Node.DOCUMENT_POSITION_FOLLOWING);
    }""")
    # The chat itself still works beside the card.
    page.locator("#input").fill("你好")
    page.locator("#input").press("Enter")
    expect(page.locator("#messages .msg").filter(has_text="收到：你好")).to_have_count(1)
    assert problems == []
    context.close()


def test_a_new_visitor_sees_no_cards(browser: Browser, service: Service) -> None:
    context = context_for(browser, service, None, viewport=DESKTOP)
    page, problems = watched(context)
    page.goto("/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#cards")).to_be_hidden()
    assert problems == []
    context.close()


def test_landing_page_lists_the_card_on_a_phone_and_its_button_opens_the_link(
    browser: Browser, service: Service
) -> None:
    [url] = service.seed("visitor-me", ("偿还商贷提取", "您的公积金可以用来偿还商业贷款。"))
    context = context_for(browser, service, service.visitor_token("visitor-me"), viewport=PHONE, is_mobile=True,
                          has_touch=True, device_scale_factor=2)
    page, problems = watched(context)
    page.goto("/me")
    expect(page).to_have_title("我的待办 - 住房公积金")
    card = page.locator("#cards .card")
    expect(card).to_have_count(1)
    expect(card.locator(".card__label")).to_have_text("您可以办理：偿还商业贷款提取")
    button = card.get_by_role("link", name="立即办理")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
    button.tap()
    page.wait_for_url(url)
    assert problems == []
    context.close()


def test_landing_page_put_away_and_empty_states(browser: Browser, service: Service) -> None:
    service.seed("visitor-tidy", ("租房提取", "您可以按月提取公积金付房租。"))
    context = context_for(browser, service, service.visitor_token("visitor-tidy"), viewport=PHONE, is_mobile=True)
    page, problems = watched(context)
    page.goto("/me")
    page.locator("#cards .card").get_by_role("button", name="不再显示").click()
    expect(page.locator("#cards")).to_have_text("暂无待办事项")
    page.reload()
    expect(page.locator("#cards")).to_have_text("暂无待办事项")
    context.close()
    # Opened outside WeChat's menu: no token, so nothing to show but the way in.
    stranger = context_for(browser, service, None, viewport=PHONE, is_mobile=True)
    page, more = watched(stranger)
    page.goto("/me")
    expect(page.locator("#cards")).to_have_text("请从公众号菜单进入")
    stranger.close()
    forged = context_for(browser, service, "visitor-tidy.forged", viewport=PHONE, is_mobile=True)
    page, most = watched(forged)
    page.goto("/me")
    expect(page.locator("#cards")).to_have_text("请从公众号菜单进入")
    forged.close()
    assert problems + more + most == []


def test_a_hostile_card_text_is_shown_as_text(browser: Browser, service: Service) -> None:
    # A code the catalogue does not know: the card shows the title it was posted with.
    service.seed("visitor-hostile", (HOSTILE[:60], f"{HOSTILE} 请点击"), business="not-in-the-catalogue")
    for path in ("/me", "/"):
        context = context_for(browser, service, service.visitor_token("visitor-hostile"), viewport=PHONE)
        page, problems = watched(context)
        page.goto(path)
        card = page.locator("#cards .card")
        expect(card.locator(".card__title")).to_have_text(HOSTILE[:60])
        expect(card.locator(".card__text")).to_have_text(f"{HOSTILE} 请点击")
        assert card.locator("img, script").count() == 0
        page.wait_for_timeout(300)  # a planted handler would have fired by now
        assert problems == [], path
        context.close()
