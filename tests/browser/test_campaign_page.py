"""The campaign page in headless Chromium against the whole service (the embedded queue, the fake
Twilio): a campaigner uploads a list and sees its bad rows, dry-runs it, cannot approve it; a
supervisor approves and starts it; the queue calls; a call ends and the progress and counts move."""
from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from core.settings import Settings
from fakes.twilio import FakeTwilio
from server.app import create_app
from server.stack import free_port
from tests.browser.conftest import DESKTOP
from tests.browser.helpers import served
from tests.callout.helpers import PUBLIC_BASE, phone_settings
from tests.credentials import APP_API_KEY

pytestmark = [pytest.mark.browser, pytest.mark.index]
PASSWORD = "secret-pass-1"


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def service(tmp_path_factory, twilio) -> Iterator[str]:
    """The whole service on a free port, in a thread; PUBLIC_BASE_URL stays the public address Twilio signs."""
    port = free_port()
    settings = Settings(data_dir=tmp_path_factory.mktemp("campaign-page"), console_bootstrap_admin="admin:admin-pass-1",
                        app_api_key=APP_API_KEY, callout_workers=1, outreach_quiet_hours="off",  # at any hour
                        **phone_settings(twilio))
    # The first start builds the knowledge index.
    with served(create_app(settings), port, start_s=600, poll_s=0.2) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post("/api/v1/console/login",
                                json={"username": "admin", "password": "admin-pass-1"}).json()["token"]
            for name, role in (("planner", "campaigner"), ("lead", "supervisor")):
                made = client.post("/api/v1/console/agents", headers={"Authorization": f"Bearer {token}"},
                                   json={"username": name, "password": PASSWORD, "role": role, "display_name": name})
                assert made.status_code in (200, 201), made.text
        yield base


def logged_in(browser: Browser, base: str, username: str) -> Page:
    context = browser.new_context(base_url=base, locale="zh-CN", timezone_id="UTC", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/console/campaigns")
    page.locator("#login-user").fill(username)
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#campaigns")).to_be_visible()
    return page


def test_prepare_approve_start_and_watch(browser: Browser, service: str, twilio: FakeTwilio, tmp_path) -> None:
    planner = logged_in(browser, service, "planner")
    listing = tmp_path / "名单.csv"
    listing.write_text("手机号,姓名,amount\n13900000001,张三,100\n13900000002,李四,200\n12345,号码错,1\n",
                       encoding="utf-8")
    planner.locator("#c-name").fill("还款提醒")
    planner.locator("#c-message").fill("{name}您好，您本月应还{amount}元。")
    planner.locator("#c-start").fill("00:00")
    planner.locator("#c-end").fill("23:59")
    planner.locator("#c-everyday").check()
    expect(planner.locator("#c-template")).to_be_hidden()
    planner.locator("#c-fallback").select_option("wechat")  # the WeChat template instead of an SMS
    planner.locator("#c-template").fill("TPL-repay")
    planner.locator("#c-wechat-data").fill("first={name}您好\nkeyword1={amount}元")
    planner.locator("#c-file").set_input_files(str(listing))
    planner.get_by_role("button", name="提交审批").click()
    expect(planner.locator("#report-summary")).to_contain_text("2 人可呼叫")
    expect(planner.locator("#report-rows tr")).to_have_count(1)
    expect(planner.locator("#report-rows")).to_contain_text("电话号码格式不正确")
    card = planner.locator("#list .card").first
    expect(card).to_contain_text("待审批")
    expect(card.get_by_role("button", name="审批")).to_have_count(0)  # a campaigner never approves
    card.get_by_role("button", name="预演").click()
    expect(planner.locator("#detail-rows")).to_contain_text("张三您好，您本月应还100元。")
    expect(planner.locator("#detail-rows")).to_contain_text("139****0001")

    with httpx.Client(base_url=service, timeout=30) as client:
        token = client.post("/api/v1/console/login", json={"username": "lead", "password": PASSWORD}).json()["token"]
        made = client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {token}"}).json()
    shown = made["campaigns"][0]
    assert (shown["fallback"], shown["wechat_template_id"]) == ("wechat", "TPL-repay")
    assert shown["wechat_data"] == {"first": "{name}您好", "keyword1": "{amount}元"}

    lead = logged_in(browser, service, "lead")
    lead_card = lead.locator("#list .card").first
    lead_card.get_by_role("button", name="审批").click()
    expect(lead_card).to_contain_text("已审批")
    lead_card.get_by_role("button", name="开始").click()
    expect(lead_card).to_contain_text("进行中")

    deadline = time.monotonic() + 30
    while len(twilio.calls) < 2:
        assert time.monotonic() < deadline, "the service's queue placed no calls"
        time.sleep(0.2)
    call = twilio.calls[0]
    with httpx.Client(base_url=service, timeout=30) as client:
        for url, params in twilio.callbacks(call):
            client.post(url.removeprefix(PUBLIC_BASE), data=params, headers={"X-Twilio-Signature": twilio.sign(url, params)})
    expect(planner.locator("#list .card").first).to_contain_text("已接听 1")
    planner.locator("#list .card").first.get_by_role("button", name="明细").click()
    expect(planner.locator("#detail-rows tr")).to_have_count(2)
    expect(planner.locator("#detail-rows")).to_contain_text("已接听")

    # The chart: calls ended per hour by outcome, drawn as inline SVG, and the reach rate over people.
    planner.locator("#list .card").first.get_by_role("button", name="趋势").click()
    expect(planner.locator("#chart-title")).to_have_text("趋势：还款提醒")
    expect(planner.locator("#chart-plot svg")).to_be_visible()
    expect(planner.locator("#chart-plot rect.bar--answered")).to_have_count(1)
    expect(planner.locator("#chart-reach")).to_contain_text("接通率 100.0%")
    planner.locator("#chart-bucket").select_option("day")
    expect(planner.locator("#chart-plot g[data-start]")).to_have_count(1)

    # A message campaign: the channel is chosen on the page, the call's own fields are hidden.
    planner.locator("#c-name").fill("偿还商贷提取")
    planner.locator("#c-channel").select_option("sms")
    expect(planner.locator("#c-voicemail")).to_be_hidden()
    expect(planner.locator("#c-template")).to_be_hidden()
    planner.locator("#c-message").fill("{name}您好，您可以办理偿还商贷提取。")
    planner.locator("#c-file").set_input_files(str(listing))
    planner.get_by_role("button", name="提交审批").click()
    expect(planner.locator("#report-summary")).to_contain_text("2 人可呼叫")
    expect(planner.locator("#list .card").first).to_contain_text("短信")
    with httpx.Client(base_url=service, timeout=30) as client:
        token = client.post("/api/v1/console/login", json={"username": "lead", "password": PASSWORD}).json()["token"]
        latest = client.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {token}"}).json()["campaigns"][0]
    assert (latest["name"], latest["channel"], latest["sms_message"]) == ("偿还商贷提取", "sms", None)
