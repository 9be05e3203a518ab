"""The agent console as agents use it, in headless Chromium against the whole service (Rasa unreachable:
the hub answers from the knowledge base and recognises "转人工" itself). A citizen on the web page asks a
real question, then for a person; the agent's background tab chimes and notifies, Alt+G grabs, the
packet reads in words (their question, not "转人工"; 网页访客, not a token), the transcript stays at the
newest message and says 新消息 when scrolled up, typing shows both ways, "/" picks a canned reply,
private notes never reach the citizen, a link and the finish each ask first, and display names show on
both sides. Screenshots at desktop and phone size go to data/screenshots/."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.console_desk import (
    Desk,
    citizen_asks_for_a_person,
    desk_service,
    log_in,
    new_page,
    on_duty,
    screenshot,
)

pytestmark = [pytest.mark.browser]

QUESTION = "公积金贷款最多能贷多少"
NOTE = "已电话核实身份，内部备注勿外传"
# Stand-ins that record what the page asks of the browser: a notification, and each tone of the chime.
RECORD_ALERTS = """
window.__alerts = [];
window.__hidden = false;
Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__hidden });
window.Notification = class {
  constructor(title, options) { window.__alerts.push(["notify", title, options && options.body]); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
const RealAudio = window.AudioContext;
window.AudioContext = class extends RealAudio {
  createOscillator() { window.__alerts.push(["tone"]); return super.createOscillator(); }
};
"""


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    with desk_service(tmp_path_factory.mktemp("console-desk")) as running:
        running.account("desk-wang", "客服 0123 王")
        running.account("desk-zhang", "客服 0456 张")
        yield running


def in_view(page: Page, box: str, item: str) -> bool:
    """Whether `item` (a selector) is inside the visible part of the scrolling `box`."""
    return page.evaluate("""([box, item]) => {
        const outer = document.querySelector(box).getBoundingClientRect();
        const inner = document.querySelector(item).getBoundingClientRect();
        return inner.bottom <= outer.bottom + 2 && inner.top >= outer.top - 2;
    }""", [box, item])


def test_no_401_before_the_login_form(browser: Browser, desk: Desk) -> None:
    page = new_page(browser, desk.base)
    refused: list[str] = []
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
    page.goto("/console")
    expect(page.locator("#login-form")).to_be_visible()
    page.wait_for_timeout(300)
    assert refused == []
    screenshot(page, "console-login-desktop")
    page.context.close()


def test_an_agent_serves_a_citizen_at_the_desk(browser: Browser, desk: Desk) -> None:
    wang = new_page(browser, desk.base)
    wang.add_init_script(RECORD_ALERTS)
    on_duty(log_in(wang, "/console", "desk-wang"))
    expect(wang.locator("#me-name")).to_contain_text("客服 0123 王")
    wang.evaluate("window.__hidden = true")  # the agent is in another tab

    citizen = new_page(browser, desk.base)
    conversation_id = citizen_asks_for_a_person(citizen, QUESTION)
    card = wang.locator(f'#pool-list .card[data-conversation="{conversation_id}"]')
    expect(card).to_have_count(1)
    wang.wait_for_function("window.__alerts.some((a) => a[0] === 'notify')")
    alerts = wang.evaluate("window.__alerts")
    assert ["tone"] in alerts and any(a[0] == "notify" and a[1] == "有新的市民在排队" for a in alerts)
    wang.evaluate("window.__hidden = false")

    # 我的 / 等待 / 全部
    wang.get_by_role("tab", name=re.compile("^我的")).click()
    expect(card).to_be_hidden()
    expect(wang.locator("#mine-empty")).to_be_visible()
    wang.get_by_role("tab", name=re.compile("^等待")).click()
    expect(card).to_be_visible()
    expect(wang.locator("#mine-list")).to_be_hidden()

    wang.keyboard.press("Alt+g")  # grab the first in the queue
    expect(card).to_have_count(0)
    wang.keyboard.press("Alt+1")
    expect(wang.locator("#mine-list .card")).to_have_count(1)
    expect(citizen.locator("#messages .msg--system").last).to_contain_text("人工客服“客服 0123 王”已接入")

    # The packet in words: the real question, the need, the citizen as a person, no token.
    expect(wang.locator("#glance-question")).to_have_text(f"“{QUESTION}”")
    expect(wang.locator("#detail-title")).to_contain_text("网页访客")
    expect(wang.locator("#detail-context")).to_contain_text("市民要求人工")
    visitor = citizen.evaluate("localStorage.getItem('hpf.visitor')").split(".")[0]
    assert visitor not in wang.locator("#app").inner_text()
    expect(wang.locator("#suggest-for")).to_contain_text(QUESTION[:10])
    expect(wang.locator("#suggestions .suggestion").first).to_be_visible()
    assert "转人工" not in wang.locator("#suggest-for").inner_text()
    # Why the bot said what it said, beside its turn for the agent only: the decision, the rule and the
    # candidates with how many ranking signals put each first; the citizen's page shows none of it.
    why = wang.locator("#transcript .tmsg__explain").first
    expect(why).to_contain_text("依据：")
    expect(why).to_contain_text(re.compile(r"[0-4]/4 一致"))
    assert not re.search(r"/4 一致|直接回答|反问确认", citizen.locator("#messages").inner_text())

    # A long conversation: the transcript fills the height and keeps the newest message in view.
    wang.evaluate("""async (id) => {
        for (let i = 1; i <= 30; i++) {
            await Console.api("POST", `/api/v1/console/conversations/${id}/messages`,
                              { text: `第${i}条：请您准备身份证、购房合同和银行流水，我们逐项核对。` });
        }
    }""", conversation_id)
    expect(wang.locator("#transcript .tmsg--agent")).to_have_count(30)
    height = wang.evaluate("document.getElementById('transcript').clientHeight")
    assert height >= 400, f"the transcript is {height}px tall"
    assert in_view(wang, "#transcript", "#transcript .tmsg:last-child")
    wang.reload()  # opening a conversation starts at its end, too
    wang.locator("#mine-list .card").get_by_role("button", name="打开").click()
    expect(wang.locator("#transcript .tmsg--agent")).to_have_count(30)
    wang.wait_for_function("(() => { const t = document.getElementById('transcript');"
                           " return t.scrollHeight - t.scrollTop - t.clientHeight < 60; })()")
    wang.evaluate("document.getElementById('transcript').scrollTop = 0")
    citizen.locator("#input").fill("我的合同是去年签的")
    citizen.locator("#input").press("Enter")
    expect(wang.locator("#transcript .tmsg--citizen").last).to_contain_text("我的合同是去年签的")
    expect(wang.locator("#new-below")).to_be_visible()
    expect(wang.locator("#new-below")).to_contain_text("新消息")
    wang.locator("#new-below").click()
    expect(wang.locator("#new-below")).to_be_hidden()
    assert in_view(wang, "#transcript", "#transcript .tmsg:last-child")
    screenshot(wang, "console-desktop")

    # Typing, both ways (the citizen's page shows the agent typing; the console the citizen).
    citizen.locator("#input").press_sequentially("还有一个问题", delay=30)
    expect(wang.locator("#citizen-typing")).to_be_visible()
    wang.locator("#reply").press_sequentially("好的", delay=30)
    expect(citizen.locator("#typing")).to_be_visible()
    wang.locator("#reply").fill("")

    # "/" canned replies: filtered as one types, Enter takes the highlighted one.
    wang.locator("#reply").press_sequentially("/")
    expect(wang.locator("#canned-menu")).to_be_visible()
    assert wang.locator("#canned-menu [role=option]").count() >= 5
    wang.locator("#reply").press_sequentially("问候")
    expect(wang.locator("#canned-menu [role=option]")).to_have_count(1)
    wang.locator("#reply").press("Enter")
    expect(wang.locator("#reply")).to_have_value(re.compile("^您好，我是住房公积金中心人工客服"))
    expect(wang.locator("#canned-menu")).to_be_hidden()
    wang.locator("#reply").press("Enter")
    expect(citizen.locator("#messages .msg--agent").last).to_contain_text("很高兴为您服务")

    # Private notes: the colleague's eyes only.
    wang.keyboard.press("Alt+n")
    expect(wang.locator("#note-text")).to_be_focused()
    wang.locator("#note-text").fill(NOTE)
    wang.get_by_role("button", name="添加备注").click()
    expect(wang.locator("#notes-list .note")).to_have_count(1)
    expect(wang.locator("#notes-list .note")).to_contain_text(NOTE)
    expect(wang.locator("#notes-list .note")).to_contain_text("客服 0123 王")
    assert NOTE not in wang.locator("#transcript").inner_text()
    citizen.wait_for_timeout(500)
    assert NOTE not in citizen.content()
    citizen.reload()  # the page's history from the service: no note there either
    expect(citizen.locator("#messages .msg--agent").last).to_contain_text("很高兴为您服务")
    assert NOTE not in citizen.content()

    # A business link asks first; cancelling sends nothing.
    agent_messages = citizen.locator("#messages .msg--agent")
    before = agent_messages.count()
    wang.locator("#link-business").select_option("withdraw-repay-commercial-loan")
    wang.get_by_role("button", name="发送办理链接").click()
    expect(wang.locator("#confirm")).to_be_visible()
    expect(wang.locator("#confirm-text")).to_contain_text("偿还商业贷款提取")
    wang.get_by_role("button", name="取消").click()
    expect(wang.locator("#confirm")).to_be_hidden()
    citizen.wait_for_timeout(500)
    expect(agent_messages).to_have_count(before)
    wang.get_by_role("button", name="发送办理链接").click()
    wang.get_by_role("button", name="发送链接").click()
    expect(agent_messages).to_have_count(before + 1)
    expect(agent_messages.last.locator("a").first).to_have_attribute("href", re.compile(r"/o/"))
    screenshot(citizen, "citizen-with-agent-desktop")

    # Finishing asks first (Alt+F or the button); cancelling keeps the conversation.
    wang.keyboard.press("Alt+f")
    expect(wang.locator("#confirm")).to_be_visible()
    expect(wang.locator("#confirm-text")).to_contain_text("结束本次人工服务")
    wang.keyboard.press("Escape")
    expect(wang.locator("#confirm")).to_be_hidden()
    expect(wang.locator("#mine-list .card")).to_have_count(1)
    wang.get_by_role("button", name="结束会话并转回智能客服").click()
    wang.get_by_role("button", name="结束会话", exact=True).click()
    expect(wang.locator("#mine-list .card")).to_have_count(0)
    expect(citizen.locator("#messages .msg--system").last).to_contain_text("人工服务已结束")
    for page in (wang, citizen):
        page.context.close()


def test_the_console_on_a_phone(browser: Browser, desk: Desk) -> None:
    page = on_duty(log_in(new_page(browser, desk.base, phone=True), "/console", "desk-zhang"))
    expect(page.locator("#inbox-tabs")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "console-phone")
    assert width <= 375 + 1, f"the console fits a phone's width ({width}px)"
    page.locator("#duty-end").click()
    page.context.close()
    citizen = new_page(browser, desk.base, phone=True)
    citizen.goto("/")
    expect(citizen.locator("#conn")).to_have_attribute("data-state", "online")
    screenshot(citizen, "citizen-phone")
    citizen.context.close()
