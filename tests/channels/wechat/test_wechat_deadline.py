"""WeChat's 5-second deadline: late answers are pushed, retries (to any process) are answered once,
long answers arrive whole and in order, and a digit picks a numbered choice."""
from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import async_sessionmaker

from channels.wechat.channel import WeChat
from channels.wechat.models import PushedTurn
from core.db import utcnow
from core.services import services_of
from fakes import wechat as wx
from tests.channels.wechat.conftest import LiveService, new_fake, service_settings

LONG = "\n".join(f"第{i}点：" + "缴存满六个月、无未结清贷款、符合购房条件的职工可以申请。" * 5 for i in range(30))


def test_slow_answer_gets_an_empty_reply_then_arrives_by_push(service, wechat, rasa, openid):
    rasa.delay = 1.2  # over the service's 0.8 s budget, under the hub's 3 s bot timeout
    missed = REGISTRY.get_sample_value("hpf_wechat_deadline_misses_total") or 0.0
    started = time.monotonic()
    delivery = wechat.post(service.wechat_url, wx.text(openid, "公积金贷款利率多少"))
    (attempt,) = delivery.attempts
    assert attempt.status == 200 and delivery.shown is None, "an empty reply, so WeChat does not retry"
    assert REGISTRY.get_sample_value("hpf_wechat_deadline_misses_total") == missed + 1, "the miss is on /metrics"
    assert attempt.elapsed < 1.2
    (pushed,) = wechat.wait_for(openid, 1)
    assert (pushed.via, pushed.content) == ("custom", "收到：公积金贷款利率多少")
    assert pushed.at - started < 2.5
    time.sleep(0.5)
    assert len(wechat.shown(openid)) == 1


def test_long_answer_is_pushed_in_parts_in_order(service, wechat, rasa, openid):
    rasa.scripts["贷款条件"] = [{"text": LONG}]
    delivery = wechat.post(service.wechat_url, wx.text(openid, "贷款条件"))
    assert delivery.shown is None, "a passive reply holds one message: all parts go by push, in order"
    shown = wechat.wait_for(openid, 3)
    time.sleep(0.3)
    shown = wechat.shown(openid)
    assert all(s.via == "custom" for s in shown) and len(shown) >= 3
    assert "\n".join(s.content for s in shown) == LONG


def test_long_article_answer_is_a_news_card_opening_the_article(service, wechat, rasa, openid):
    rasa.scripts["租房提取"] = [{"text": "租房提取：" + "需要的材料和办理流程。" * 300,
                                "sources": [{"article_id": "withdraw-rent", "title": "租房提取"}]}]
    card = wechat.post(service.wechat_url, wx.text(openid, "租房提取"), mode="safe").shown
    assert (card.via, card.msgtype, card.content) == ("passive", "news", "租房提取")
    assert card.extra["url"] == f"{service.url}/wechat/articles/withdraw-rent"
    page = httpx.get(card.extra["url"])
    assert page.status_code == 200 and "<h1>租房提取" in page.text and 'charset="utf-8"' in page.text
    assert httpx.get(f"{service.url}/wechat/articles/no-such-article").status_code == 404


def test_a_digit_answers_the_numbered_choices(service, wechat, rasa, openid):
    rasa.scripts["公积金"] = [{"text": "您想了解哪一项？", "buttons": [
        {"title": "提取", "payload": "我想提取公积金"}, {"title": "贷款", "payload": "我想申请公积金贷款"}]}]
    offered = wechat.post(service.wechat_url, wx.text(openid, "公积金")).shown
    assert "回复数字选择：\n1. 提取\n2. 贷款" in offered.content
    answer = wechat.post(service.wechat_url, wx.text(openid, "2")).shown
    assert rasa.received[-1]["message"] == "我想申请公积金贷款"
    assert answer.content == "收到：我想申请公积金贷款"
    again = wechat.post(service.wechat_url, wx.text(openid, "2")).shown
    assert again.content == "收到：2", "once answered, a digit is just a digit"


# -- WeChat's real timing, two service processes behind one address ---------------------------------

@pytest.fixture(scope="module")
def slow_network():
    """WeChat as it is: 5 s, three attempts; the account's answers take 2.5 s to travel back, so an
    answer later than 2.5 s misses WeChat's deadline and the message comes again."""
    with new_fake(reply_timeout_s=5.0, latency_s=2.5) as fake:
        yield fake


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory, index_dir, rasa, slow_network):
    data = tmp_path_factory.mktemp("wechat-two")
    database = f"sqlite+aiosqlite:///{data / 'shared.db'}"
    # The hub waits for the (fake) bot longer than WeChat waits for us: lateness is the point here.
    shared = {"database_url": database, "bot_timeout_s": 8.0}
    first = service_settings(data / "a", index_dir, rasa, slow_network, **shared)
    second = service_settings(data / "b", index_dir, rasa, slow_network, **shared)
    with LiveService(first) as a, LiveService(second) as b:
        yield a, b


def test_retry_while_the_first_attempt_is_late_is_answered_once_by_push(two_processes, slow_network, rasa, openid):
    a, b = two_processes
    rasa.delay = 4.6  # past the 4 s budget: the first attempt replies empty, too late for WeChat anyway
    delivery = slow_network.post(a.wechat_url, wx.text(openid, "异地转移怎么办"), urls=[a.wechat_url, b.wechat_url])
    assert [x.status for x in delivery.attempts] == [None, 200], "WeChat retried once, at 5 s, to the other process"
    assert 4.9 < delivery.attempts[0].elapsed < 5.5
    time.sleep(1.0)
    (shown,) = slow_network.shown(openid)
    assert (shown.via, shown.content) == ("custom", "收到：异地转移怎么办")
    assert [r["message"] for r in rasa.received].count("异地转移怎么办") == 1


def test_retry_after_a_lost_passive_answer_gets_the_same_answer_once(two_processes, slow_network, rasa, openid):
    a, b = two_processes
    rasa.delay = 3.0  # within the 4 s budget, but 3 s + 2.5 s of network is past WeChat's 5 s
    delivery = slow_network.post(a.wechat_url, wx.text(openid, "退休提取"), urls=[a.wechat_url, b.wechat_url])
    assert [x.status for x in delivery.attempts] == [None, 200]
    assert delivery.shown.content == "收到：退休提取" and delivery.shown.via == "passive"
    time.sleep(1.0)
    assert len(slow_network.shown(openid)) == 1, "shown once, never pushed as well"
    assert [r["message"] for r in rasa.received].count("退休提取") == 1


def test_pushed_marks_are_kept_only_as_long_as_retries_matter(service):
    async def scenario() -> tuple[bool, bool]:
        async with services_of(service.app).get(async_sessionmaker)() as session:
            session.add_all([PushedTurn(client_msg_id="old-mark", created_at=utcnow() - timedelta(days=2)),
                             PushedTurn(client_msg_id="new-mark")])
            await session.commit()
        await services_of(service.app).get(WeChat).turns.forget_pushed()
        async with services_of(service.app).get(async_sessionmaker)() as session:
            return (await session.get(PushedTurn, "old-mark")) is None, (await session.get(PushedTurn, "new-mark")) is not None

    assert service.run(scenario()) == (True, True)
