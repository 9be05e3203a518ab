"""The agent console in headless Chromium with two agents in two browser contexts, against the live
service and Rasa: a citizen on the web page asks for a person, both agents see the conversation, one
grabs it, the other sees it vanish, agent and citizen talk, the agent finishes, the citizen rates."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.agent_console.helpers import PASSWORD, add_agent_sync
from tests.browser.conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.rasa]

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"


@pytest.fixture
def agents(live_service) -> Iterator[list[str]]:
    names = [f"web-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    for name, shown in zip(names, ("小王", "小张"), strict=True):
        add_agent_sync(f"sqlite:///{live_service.data_dir / 'hpf.db'}", name, display_name=shown)
    yield names
    with httpx.Client(base_url=live_service.base_url, timeout=30) as client:  # other suites share the service
        for name in names:
            login = client.post("/api/v1/console/login", json={"username": name, "password": PASSWORD}).json()
            client.delete("/api/v1/console/duty", headers={"Authorization": f"Bearer {login['token']}"})


def new_page(browser: Browser, base_url: str) -> Page:
    context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="UTC", viewport=DESKTOP)
    context.set_default_timeout(20_000)
    return context.new_page()


def console_on_duty(browser: Browser, base_url: str, username: str) -> Page:
    page = new_page(browser, base_url)
    page.goto("/console")
    page.locator("#login-user").fill(username)
    page.locator("#login-pass").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.locator("#duty-start").click()
    expect(page.locator("#duty-state")).to_have_text("在岗")
    return page


def conversation_of(citizen: Page, base_url: str) -> str:
    token = citizen.evaluate("localStorage.getItem('hpf.visitor')")
    return httpx.post(f"{base_url}/api/v1/web/session", json={"visitor_token": token}).json()["conversation_id"]


def test_two_agents_grab_talk_and_hand_back(browser: Browser, live_service, agents) -> None:
    base = live_service.base_url
    wang, zhang = (console_on_duty(browser, base, name) for name in agents)
    citizen = new_page(browser, base)
    citizen.goto("/")
    expect(citizen.locator("#conn")).to_have_attribute("data-state", "online")
    citizen.locator("#input").fill("转人工")
    citizen.locator("#input").press("Enter")
    expect(citizen.locator("#messages .msg--bot").last).to_contain_text("正在为您转接人工客服")
    conversation_id = conversation_of(citizen, base)

    card = {page: page.locator(f'#pool-list .card[data-conversation="{conversation_id}"]') for page in (wang, zhang)}
    for page in (wang, zhang):
        expect(card[page]).to_have_count(1)
        expect(card[page].locator(".card__wait")).to_contain_text(re.compile(r"等待 \d+:\d\d"))
    card[wang].get_by_role("button", name="抢接").click()
    expect(card[zhang]).to_have_count(0)
    expect(zhang.locator("#toast")).to_contain_text("已被其他客服接入")  # the colleague's name is not told
    expect(wang.locator("#mine-list .card")).to_have_count(1)
    # The transfer menu comes from the agents' own narrow route: the colleague on duty, by display name.
    expect(wang.locator('#transfer-target option[value^="agent:"]')).to_have_count(1)
    expect(wang.locator('#transfer-target option[value^="agent:"]')).to_contain_text("小张")
    expect(wang.locator("#detail-context")).to_contain_text("市民要求人工")
    expect(wang.locator("#transcript .tmsg--bot").first).to_contain_text("正在为您转接人工客服")
    expect(citizen.locator("#messages .msg--system").last).to_contain_text("人工客服“小王”已接入")

    wang.locator("#reply").fill("您好，我是客服小王，请问有什么可以帮您？")
    wang.locator("#reply").press("Enter")
    expect(citizen.locator("#messages .msg--agent").last).to_have_text(re.compile("我是客服小王"))
    citizen.locator("#input").fill("我想问一下我的贷款审批进度")
    citizen.locator("#input").press("Enter")
    expect(wang.locator("#transcript .tmsg--citizen").last).to_contain_text("我的贷款审批进度")
    expect(wang.locator("#suggestions .suggestion").first).to_be_visible()

    # 发送办理链接: the citizen gets their own 一点就能办 link as the agent's message.
    wang.locator("#link-business").select_option("withdraw-repay-commercial-loan")
    wang.get_by_role("button", name="发送办理链接").click()
    wang.get_by_role("button", name="发送链接").click()  # sending a link asks first
    personal = citizen.locator("#messages .msg--agent").last
    expect(personal).to_contain_text("偿还商业贷款提取申请")
    expect(personal.locator("a").first).to_have_attribute("href", re.compile(r"/o/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"))
    expect(wang.locator("#transcript .tmsg--agent").last).to_contain_text("偿还商业贷款提取申请")

    citizen.locator("#input").fill(HOSTILE)
    citizen.locator("#input").press("Enter")
    expect(wang.locator("#transcript .tmsg--citizen").last).to_have_text(re.compile(re.escape(HOSTILE)))
    assert wang.locator("#transcript img").count() == 0 and wang.title() != "pwned"

    wang.get_by_role("button", name="结束会话并转回智能客服").click()
    wang.get_by_role("button", name="结束会话", exact=True).click()  # so does finishing
    expect(wang.locator("#mine-list .card")).to_have_count(0)
    rating = citizen.locator("#messages .msg--system").filter(has_text="请为刚才的人工服务打分")
    expect(rating).to_have_count(1)
    rating.get_by_role("button", name="非常满意", exact=True).click()
    expect(citizen.locator("#messages .msg--system").last).to_contain_text("感谢您的评价（非常满意）")
    for page in (wang, zhang, citizen):
        page.context.close()
