"""What the console's browser tests share: the whole service with Rasa unreachable (a plain "转人工" still
reaches the pool through the hub's own recogniser, and the knowledge base answers and suggests), accounts
put straight into its database, a logged-in page per person, and screenshots for review."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from core.settings import Settings
from server.app import create_app
from server.stack import free_port
from tests.agent_console.helpers import PASSWORD, add_agent_sync
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.helpers import served
from tests.credentials import APP_API_KEY

ROOT = Path(__file__).resolve().parents[2]
# Screenshots of each page at phone and desktop size, for people to look at (never compared by pixel).
SHOTS = Path(os.environ.get("HPF_SCREENSHOTS", ROOT / "data" / "screenshots"))


@dataclass
class Desk:
    base: str
    database_url: str

    def account(self, username: str, display_name: str, role: str = "agent") -> str:
        add_agent_sync(self.database_url, username, role=role, display_name=display_name)
        return username


@contextmanager
def desk_service(data_dir: Path) -> Iterator[Desk]:
    database_url = f"sqlite+aiosqlite:///{data_dir / 'hpf.db'}"
    settings = Settings(
        data_dir=data_dir, database_url=database_url, rasa_url=f"http://127.0.0.1:{free_port()}",
        bot_timeout_s=0.5, app_api_key=APP_API_KEY, console_tick_s=0.2,
    )
    with served(create_app(settings), free_port(), start_s=900) as base:
        yield Desk(base=base, database_url=database_url)


def new_page(browser: Browser, base: str, *, phone: bool = False) -> Page:
    options = ({"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2} if phone
               else {"viewport": DESKTOP})
    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="UTC", **options)
    context.set_default_timeout(20_000)
    return context.new_page()


def log_in(page: Page, path: str, username: str) -> Page:
    page.goto(path)
    page.locator("#login-user").fill(username)
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#me-name")).not_to_be_empty()
    return page


def on_duty(page: Page) -> Page:
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.locator("#duty-start").click()
    expect(page.locator("#duty-state")).to_have_text("在岗")
    return page


def citizen_asks_for_a_person(page: Page, question: str) -> str:
    """On the chat page: a real question, then "转人工"; returns the conversation's id."""
    page.goto("/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    for text in (question, "转人工"):
        page.locator("#input").fill(text)
        page.locator("#input").press("Enter")
        mine = page.locator("#messages .msg--citizen").filter(has=page.get_by_text(text, exact=True))
        expect(mine).to_have_attribute("data-id", re.compile(r"^\d+$"))
    # A busy Rasa answers the first question late (the knowledge base's fallback), so the queue's reply to
    # "转人工" may come well after it: allow for a loaded machine.
    expect(page.locator("#messages .msg--bot, #messages .msg--system").last).to_contain_text("人工", timeout=90_000)
    token = page.evaluate("localStorage.getItem('hpf.visitor')")
    base = page.url.rsplit("/", 1)[0]
    return httpx.post(f"{base}/api/v1/web/session", json={"visitor_token": token}).json()["conversation_id"]


def screenshot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
