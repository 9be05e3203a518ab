"""The chat page's buttons and header, in headless Chromium against the live service and Rasa: a spent or
superseded choice is disabled, every control is a thumb's size on a phone, and the header says who serves."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

TOUCH_PX = 44


def open_chat(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")


def ask(page: Page, text: str) -> None:
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")


def test_a_tapped_choice_and_older_choices_are_disabled(page: Page) -> None:
    open_chat(page)
    ask(page, "帮我估算一下能贷多少")
    first = page.locator("#messages .msg__buttons").filter(has=page.get_by_role("button", name="首套房"))
    expect(first).to_have_count(1)
    first.get_by_role("button", name="首套房").click()
    expect(first.locator("button").first).to_be_disabled()
    expect(first).to_have_attribute("data-valid", "false")
    # The next question's choices are the ones in play; every older row is disabled.
    latest = page.locator("#messages .msg__buttons").last
    expect(latest.get_by_role("button", name=re.compile("夫妻都在缴"))).to_be_enabled()
    rows = page.locator("#messages .msg__buttons")
    for i in range(rows.count() - 1):
        for button in rows.nth(i).locator("button").all():
            expect(button).to_be_disabled()


def test_spent_choices_stay_disabled_after_a_reload(page: Page) -> None:
    open_chat(page)
    ask(page, "帮我估算一下能贷多少")
    page.locator("#messages .msg__buttons").get_by_role("button", name="首套房").click()
    expect(page.locator("#messages .msg__buttons")).to_have_count(2)
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    rows = page.locator("#messages .msg__buttons")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("button").first).to_be_disabled()
    expect(rows.last.locator("button").first).to_be_enabled()


def test_touch_targets_are_at_least_44_px_on_a_phone(phone_page: Page) -> None:
    open_chat(phone_page)
    ask(phone_page, "帮我估算一下能贷多少")
    expect(phone_page.locator("#messages .msg__buttons button").first).to_be_visible()
    sizes = phone_page.evaluate(
        """() => [...document.querySelectorAll('button, .composer__input')]
             .filter((el) => el.offsetParent !== null)
             .map((el) => { const r = el.getBoundingClientRect();
                            return [el.textContent.trim() || el.id || el.className, r.width, r.height]; })"""
    )
    assert sizes, "no controls found"
    small = [(name, w, h) for name, w, h in sizes if w < TOUCH_PX - 0.5 or h < TOUCH_PX - 0.5]
    assert not small, small


def test_the_header_names_the_agent_while_one_serves(page: Page) -> None:
    sockets: list[WebSocketRoute] = []

    def relay(socket: WebSocketRoute) -> None:
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws/chat"), relay)
    open_chat(page)
    expect(page.locator("#serving")).to_have_text("智能客服")

    def frame(id_: int, author: str, text: str, payload: dict) -> str:
        return json.dumps({"type": "message", "message": {
            "id": id_, "author": author, "text": text, "payload": payload, "created_at": "2026-12-07T08:00:00+00:00"}})

    # What the hub sends when an agent claims the conversation, then the bot's next turn.
    sockets[-1].send(frame(10**9, "system", "人工客服“王芳”已接入，正在为您服务。", {"agent": {"name": "王芳"}}))
    expect(page.locator("#serving")).to_have_text("人工客服 王芳")
    expect(page.locator("#serving")).to_have_attribute("data-who", "agent")
    sockets[-1].send(frame(10**9 + 1, "bot", "您好，还有什么可以帮您？", {}))
    expect(page.locator("#serving")).to_have_text("智能客服")
