"""The citizen chat page at `/`, driven in headless Chromium against the live service and Rasa."""
from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def open_chat(page: Page) -> None:
    page.goto("/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")


def ask(page: Page, text: str) -> Locator:
    """Type a question, send it with Enter, and return its bubble once the service has stored it."""
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    return delivered(page, text)


def delivered(page: Page, text: str) -> Locator:
    bubble = citizen_bubbles(page, text)
    expect(bubble).to_have_count(1)
    expect(bubble).to_have_attribute("data-id", re.compile(r"^\d+$"))
    return bubble


def citizen_bubbles(page: Page, text: str) -> Locator:
    return page.locator("#messages .msg--citizen").filter(has=page.get_by_text(text, exact=True))


def replies_to(question: Locator) -> Locator:
    """Bot or agent messages below the question (on screen, messages are kept in id order)."""
    answers = "contains(@class,'msg--bot') or contains(@class,'msg--agent')"
    return question.locator(f"xpath=following-sibling::div[{answers}]")


def test_nothing_on_the_page_is_refused_by_its_content_security_policy(page: Page) -> None:
    """The page's scripts, styles, WebSocket, cards and voice button all work under its CSP: Chromium
    reports each refusal as a securitypolicyviolation event and on the console; neither may appear."""
    refusals: list[str] = []
    page.on("console", lambda message: refusals.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.add_init_script("window.__refused = []; document.addEventListener('securitypolicyviolation',"
                         " (e) => window.__refused.push(e.violatedDirective + ' ' + e.blockedURI));")
    open_chat(page)
    expect(page.locator("#talk")).to_have_attribute("data-ready", re.compile(r"^(true|false)$"))
    # The voice button's status request got through (a refused fetch would say it cannot connect).
    expect(page.locator("#talk")).not_to_have_attribute("title", re.compile("暂时无法连接语音服务"))
    expect(replies_to(ask(page, "公积金贷款最多能贷多少")).first).to_be_visible()
    assert page.evaluate("window.__refused") == [] and refusals == []


def test_chromium_gets_the_pages_security_headers_and_enforces_them(page: Page, service_url: str) -> None:
    """The headers reach the browser as sent, and Chromium acts on them: a script put into the page as text
    (what an injected message would try) does not run, and another site cannot show the page in a frame."""
    response = page.goto("/")
    assert response is not None and response.ok
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (headers["x-frame-options"], headers["x-content-type-options"], headers["referrer-policy"]) == (
        "DENY", "nosniff", "no-referrer")
    page.evaluate("window.__refused = [];"
                  " document.addEventListener('securitypolicyviolation', (e) => window.__refused.push(e.violatedDirective));"
                  " const s = document.createElement('script'); s.textContent = 'window.__ran = true';"
                  " document.body.append(s);")
    assert page.evaluate("window.__ran === true") is False
    page.wait_for_function("window.__refused.length > 0")  # the violation event comes a task later
    assert page.evaluate("window.__refused")[0].startswith("script-src")

    framer = page.context.new_page()
    framer.set_content(f'<iframe src="{service_url}/"></iframe>')  # returns once the frame has loaded or failed
    inner = next(frame for frame in framer.frames if frame != framer.main_frame)
    assert inner.url.startswith("chrome-error://") and inner.locator("#input").count() == 0, inner.url
    framer.close()


def test_questions_get_answers_with_sources(page: Page) -> None:
    open_chat(page)
    for question in ("租房提取需要啥材料", "公积金贷款利率现在多少"):
        sourced = replies_to(ask(page, question)).locator(".msg__sources")
        expect(sourced.first).to_contain_text(re.compile(r"^来源：《.+》"))
    expect(page.locator("#typing")).to_be_hidden()
    expect(page.locator("#messages .msg--pending")).to_have_count(0)


def test_times_are_shown_in_shanghai_time(page: Page) -> None:
    open_chat(page)
    stamp = ask(page, "公积金怎么提取").locator("time")
    iso = stamp.get_attribute("datetime")
    expected = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(SHANGHAI).strftime("%H:%M")
    expect(stamp).to_have_text(expected)  # the browser runs in UTC (see conftest)


def test_untrusted_text_is_shown_as_text(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_chat(page)
    bubble = ask(page, HOSTILE)
    expect(bubble.locator(".msg__text")).to_have_text(HOSTILE)
    expect(replies_to(bubble).first).to_be_visible()  # whatever the bot echoes back is rendered too
    assert page.locator("#messages img, #messages script").count() == 0
    assert dialogs == []


def test_keyboard_and_input_rules(page: Page) -> None:
    open_chat(page)
    box, send = page.locator("#input"), page.locator("#send")
    expect(box).to_have_attribute("maxlength", "1000")
    expect(send).to_be_disabled()
    box.fill("   \n  ")
    expect(send).to_be_disabled()
    box.fill("")
    box.press_sequentially("公积金")
    box.press("Shift+Enter")
    box.press_sequentially("提取")
    expect(box).to_have_value("公积金\n提取")
    expect(page.locator("#counter")).to_have_text("6/1000")
    expect(send).to_be_enabled()
    box.press("Enter")
    bubble = delivered(page, "公积金\n提取")
    assert bubble.locator(".msg__text").inner_text() == "公积金\n提取"  # the newline is a line break
    expect(box).to_have_value("")
    expect(page.locator("#counter")).to_have_text("0/1000")


def test_history_survives_a_reload(page: Page) -> None:
    open_chat(page)
    question = ask(page, "租房提取需要啥材料")
    expect(replies_to(question).first).to_be_visible()
    before = page.locator("#messages .msg").all_inner_texts()
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(page.locator("#messages .msg")).to_have_count(len(before))
    assert page.locator("#messages .msg").all_inner_texts() == before
    ask(page, "公积金贷款利率现在多少")  # the same conversation goes on after the reload


def test_a_rejected_token_starts_a_new_conversation(page: Page) -> None:
    page.goto("/")
    page.evaluate("localStorage.setItem('hpf.visitor', 'tampered.token')")
    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    expect(replies_to(ask(page, "公积金怎么提取")).first).to_be_visible()
    assert page.evaluate("localStorage.getItem('hpf.visitor')") != "tampered.token"


def test_messages_typed_while_disconnected_are_sent_once_after_reconnecting(page: Page) -> None:
    sockets: list[WebSocketRoute] = []
    offline = {"on": False}

    def relay(socket: WebSocketRoute) -> None:
        if offline["on"]:
            socket.close(code=1012)  # the service is "restarting": the page keeps retrying
            return
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws/chat"), relay)
    open_chat(page)
    offline["on"] = True
    sockets[-1].close(code=1012)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connecting")
    expect(page.locator("#conn")).to_have_text("连接中…")

    page.locator("#input").fill("断线的时候问：公积金怎么提取")
    page.locator("#input").press("Enter")
    queued = page.locator("#messages .msg--pending")
    expect(queued).to_have_attribute("data-state", "queued")

    page.reload()  # even a reload while offline keeps what was typed
    expect(page.locator("#messages .msg--pending")).to_have_attribute("data-state", "queued")
    offline["on"] = False
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    bubble = delivered(page, "断线的时候问：公积金怎么提取")
    expect(replies_to(bubble).first).to_be_visible()
    expect(page.locator("#messages .msg--pending")).to_have_count(0)


def test_refusals_are_shown_near_the_input_and_nothing_typed_is_lost(page: Page) -> None:
    refuse: dict[str, str | None] = {"code": None}

    def relay(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def from_page(message: str | bytes) -> None:
            # Answer the page the way the service does when it refuses a text or fails to store it.
            frame = json.loads(message)
            if frame.get("type") == "typing":  # the page tells the agent it is typing: passed on as it is
                server.send(message)
                return
            if refuse["code"] == "internal_error":
                error = {"message": "消息发送失败，请重试。", "client_msg_id": frame["client_msg_id"]}
            elif refuse["code"]:
                error = {"message": "消息太长了，请精简后再发送。"}
            else:
                server.send(message)
                return
            socket.send(json.dumps({"type": "error", "code": refuse["code"], **error}))

        socket.on_message(from_page)

    page.route_web_socket(re.compile(r"/ws/chat"), relay)
    open_chat(page)
    box = page.locator("#input")

    refuse["code"] = "message_too_long"
    box.fill("一个被拒绝的问题")
    box.press("Enter")
    expect(page.locator("#error")).to_have_text("消息太长了，请精简后再发送。")
    expect(box).to_have_value("一个被拒绝的问题")
    expect(page.locator("#messages .msg--citizen")).to_have_count(0)

    refuse["code"] = "internal_error"
    box.fill("公积金怎么提取")
    box.press("Enter")
    failed = page.locator("#messages .msg--pending")
    expect(failed).to_have_attribute("data-state", "failed")
    expect(page.locator("#error")).to_have_text("消息发送失败，请重试。")

    refuse["code"] = None
    failed.get_by_role("button", name="重试").click()
    expect(replies_to(delivered(page, "公积金怎么提取")).first).to_be_visible()


def test_phone_screen_has_no_horizontal_scroll(phone_page: Page) -> None:
    page = phone_page
    open_chat(page)
    expect(replies_to(ask(page, "租房提取需要啥材料")).first).to_be_visible()
    ask(page, "https://example.com/" + "x" * 300)  # one long unbreakable word
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The conversation clips sideways overflow, so check that nothing in it is wider than it either.
    assert page.evaluate("(log => log.scrollWidth <= log.clientWidth)(document.getElementById('log'))")
    for selector in (".topbar", "#composer", "#send", "#messages .msg__bubble >> nth=-1"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, selector
    expect(page.locator(".topbar")).to_contain_text("12329")
