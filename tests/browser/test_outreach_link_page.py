"""A personal 一点就能办 link on a phone, in headless Chromium: the page shows the person's facts and the
questions the centre's data answered, the citizen answers the rest one by one, sees the outcome and the
documents, and "去办理" leads to the business form with a hand-off the business system can verify.
The link routes run on a small app of their own (no knowledge index needed); the business form's site
is intercepted in the browser."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.db import make_engine, make_sessionmaker, migrate
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from outreach import handoff, links
from outreach.context import Outreach
from outreach.routes import link_pages
from server.stack import free_port
from tests.browser.helpers import served

pytestmark = [pytest.mark.browser]
PHONE = {"width": 375, "height": 812}
FORM = "https://housefund.hd.gov.cn/wt/withdraw/repay-commercial"


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[tuple[str, Outreach]]:
    data = tmp_path_factory.mktemp("link-page")
    url = f"sqlite+aiosqlite:///{data / 'links.db'}"
    migrate(url)
    port = free_port()
    settings = Settings(data_dir=data, database_url=url, public_base_url=f"http://127.0.0.1:{port}")
    outreach = Outreach(settings=settings, sessions=make_sessionmaker(make_engine(url)))
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, settings)
    services.provide(async_sessionmaker, outreach.sessions)
    services.provide(Outreach, outreach)
    app.include_router(link_pages.router)
    with served(app, port) as base:
        yield base, outreach


def issue(outreach: Outreach) -> str:
    async def make() -> str:
        engine = make_engine(outreach.settings.database_url)
        own = Outreach(settings=outreach.settings, sessions=make_sessionmaker(engine))
        issued = await links.issue(
            own, business="withdraw-repay-commercial-loan", depositor_ref="ref-browser",
            facts={"姓名": "王*华", "贷款余额": "38.2 万元"}, answers={"loan_type": "housing", "borrower": "self"},
            campaign_id=1, recipient_id=7, segment="no-repay-withdrawal", channel="sms",
        )
        await engine.dispose()
        return issued.url

    # Its own thread, loop and engine: Playwright's loop holds this thread, the server's its own.
    made: list[str] = []
    worker = threading.Thread(target=lambda: made.append(asyncio.run(make())))
    worker.start()
    worker.join(timeout=30)
    return made[0]


def test_a_citizen_answers_sees_the_documents_and_goes_to_the_form(browser: Browser, service) -> None:
    base, outreach = service
    url = issue(outreach)
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    context.set_default_timeout(20_000)
    page = context.new_page()
    reached: list[str] = []

    def business_form(route) -> None:
        reached.append(route.request.url)
        route.fulfill(status=200, content_type="text/html; charset=utf-8",
                      body="<!doctype html><html><body><h1>网上办事大厅</h1></body></html>")

    page.route("https://housefund.hd.gov.cn/**", business_form)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto(url)
    expect(page.locator("h1")).to_have_text("偿还商业贷款提取申请")
    expect(page.locator("#facts")).to_contain_text("王*华")
    expect(page.locator("#facts")).to_contain_text("38.2 万元")
    expect(page.locator("[data-answered=loan_type]")).to_contain_text("个人住房贷款")
    expect(page.locator("[data-answered=borrower]")).to_contain_text("我本人")
    # The page fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    for question, answer in (("overdue", "否"), ("recent_withdrawal", "否"), ("statement", "是"),
                             ("spouse_too", "否"), ("own_card", "是")):
        fieldset = page.locator(f"fieldset[data-question={question}]")
        expect(fieldset).to_be_visible()
        fieldset.get_by_text(answer, exact=True).click()

    result = page.locator("#result")
    expect(result).to_have_attribute("data-outcome", "eligible")
    expect(result).to_contain_text("看起来符合条件")
    documents = page.locator("#documents li")
    expect(documents.first).to_contain_text("身份证")
    assert documents.count() >= 5
    expect(page.locator("#documents")).not_to_contain_text("结婚证")  # not for a single borrower without spouse

    page.get_by_role("button", name="去办理").click()
    expect(page.locator("h1")).to_have_text("网上办事大厅")
    assert reached, "the form was not reached"
    target = urlsplit(reached[-1])
    assert f"{target.scheme}://{target.netloc}{target.path}" == FORM
    value = parse_qs(target.query)[handoff.PARAM][0]
    checked = handoff.verify(outreach.settings.outreach_business_secret.get_secret_value(), value,
                             now=outreach.clock.now(), business="withdraw-repay-commercial-loan")
    assert checked.depositor_ref == "ref-browser"
    assert not refused, refused
    context.close()


def test_a_tampered_link_shows_a_plain_refusal(browser: Browser, service) -> None:
    base, outreach = service
    url = issue(outreach)
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True)
    page = context.new_page()
    response = page.goto(url[:-2] + ("AA" if not url.endswith("AA") else "BB"))
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("链接无效")
    expect(page.locator("body")).not_to_contain_text("王*华")
    context.close()
