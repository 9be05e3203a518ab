"""The supervisor page as a dashboard in headless Chromium: one tab at a time (the page stays short), the
tab in the address, arrow keys between tabs, admin-only tabs hidden from a supervisor, dates typed and
shown as 年-月-日 (never the browser's "mm/dd/yyyy"), alerts that say when nothing is wrong, and no 401 in
the browser's log before the login form. Screenshots at phone and desktop size go to data/screenshots/."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.console_desk import Desk, desk_service, log_in, new_page, screenshot

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    with desk_service(tmp_path_factory.mktemp("supervisor-tabs")) as running:
        running.account("lead", "主管 0001 李", role="supervisor")
        running.account("boss", "管理员 0002 赵", role="admin")
        yield running


def test_the_supervisor_page_is_tabs_with_chinese_dates(browser: Browser, desk: Desk) -> None:
    page = new_page(browser, desk.base)
    failures: list[str] = []
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)
    page.goto("/console/supervisor")
    expect(page.locator("#login-form")).to_be_visible()
    page.wait_for_timeout(300)
    assert failures == [], "nothing is refused before the login form"
    log_in(page, "/console/supervisor", "lead")

    tabs = page.locator("#sup-tabs [role=tab]:visible")
    expect(tabs.first).to_have_text("实时概况")
    titles = tabs.all_inner_texts()  # other pages' tabs (SupervisorTabs.add) follow these
    assert titles[:5] == ["实时概况", "上班申请", "进行中的会话", "客服绩效", "操作审计"] and "账号管理" not in titles
    expect(page.locator('#sup-tabs [role=tab][aria-selected="true"]')).to_have_text("实时概况")
    expect(page.locator("#alerts")).to_have_text("目前没有告警")
    expect(page.locator("#audit")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollHeight") < 1600, "one section at a time, not a scroll"
    screenshot(page, "supervisor-desktop")

    page.get_by_role("tab", name="客服绩效").click()
    expect(page).to_have_url(re.compile(r"#tab=figures$"))
    since = page.locator("#period-since")
    expect(since).to_be_visible()
    assert since.get_attribute("type") in (None, "text")
    expect(since).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    assert "mm" not in page.locator("#period").inner_text().lower()
    since.fill("2026-13-01")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#period-error")).to_contain_text("年-月-日")
    since.fill("2026/12/1")
    page.get_by_role("button", name="查询").click()
    expect(since).to_have_value("2026-12-01")
    expect(page.locator("#period-error")).to_be_empty()

    page.get_by_role("tab", name="客服绩效").press("ArrowRight")
    expect(page.locator('#sup-tabs [role=tab][aria-selected="true"]')).to_have_text("操作审计")
    expect(page.locator("#audit-form")).to_be_visible()
    page.reload()
    expect(page.locator('#sup-tabs [role=tab][aria-selected="true"]')).to_have_text("操作审计")
    page.context.close()


def test_an_admin_has_the_accounts_tab_and_a_phone_sees_the_tabs(browser: Browser, desk: Desk) -> None:
    page = log_in(new_page(browser, desk.base, phone=True), "/console/supervisor", "boss")
    expect(page.get_by_role("tab", name="账号管理")).to_be_visible()
    page.get_by_role("tab", name="账号管理").click()
    expect(page.locator("#account-form")).to_be_visible()
    # A new account without a display name is "客服 <id>", never its login name; the admin renames it.
    page.locator("#acc-username").fill("newdesk")
    page.locator("#acc-password").fill("secret-pass-9")
    page.get_by_role("button", name="创建账号").click()
    row = page.locator("#account-list tr").filter(has_text="newdesk")
    name = row.locator(".rename__input")
    expect(name).to_have_value(re.compile(r"^客服 \d{4}$"))
    name.fill("newdesk")
    row.get_by_role("button", name="保存").click()
    expect(page.locator("#toast")).to_contain_text("不要用登录名")
    name.fill("客服 0321 孙")
    row.get_by_role("button", name="保存").click()
    expect(page.locator("#toast")).to_contain_text("已改为")
    expect(page.locator("#account-list tr").filter(has_text="newdesk").locator(".rename__input")).to_have_value(
        "客服 0321 孙")
    screenshot(page, "supervisor-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, f"the page fits a phone's width ({width}px)"
    page.context.close()
