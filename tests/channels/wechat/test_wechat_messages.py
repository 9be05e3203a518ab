"""Every message and event type WeChat sends, in plain, safe and compatible mode: what the citizen
sees, what the conversation records, and whether the assistant was asked."""
from __future__ import annotations

import pytest

from conversations.hub import Hub
from conversations.models import Channel
from core.services import services_of
from fakes import wechat as wx

MODES = ["plain", "safe", "compatible"]


def history(service, openid: str) -> list:
    async def read():
        hub = services_of(service.app).get(Hub)
        conversation = await hub.open_conversation(channel=Channel.WECHAT, kind="wechat", value=openid)
        return await hub.history(conversation.id)

    return service.run(read())


def send(service, wechat, fields: dict, mode: str) -> wx.Delivery:
    delivery = wechat.post(service.wechat_url, fields, mode=mode)
    assert [a.status for a in delivery.attempts] == [200], "answered at the first attempt, never an error"
    return delivery


@pytest.mark.parametrize("mode", MODES)
def test_text_is_answered_by_the_assistant_passively(service, wechat, rasa, openid, mode):
    delivery = send(service, wechat, wx.text(openid, "租房提取要什么材料"), mode)
    assert delivery.shown.content == "收到：租房提取要什么材料"
    assert rasa.received[-1]["message"] == "租房提取要什么材料"
    assert [(m.author, m.text) for m in history(service, openid)] == [
        ("citizen", "租房提取要什么材料"), ("bot", "收到：租房提取要什么材料")
    ]


@pytest.mark.parametrize("mode", MODES)
def test_voice_is_answered_from_wechats_recognition(service, wechat, rasa, openid, mode):
    delivery = send(service, wechat, wx.voice(openid, recognition="退休了公积金咋取。"), mode)
    assert delivery.shown.content == "收到：退休了公积金咋取。"
    assert history(service, openid)[0].payload["wechat"] == {"type": "voice", "recognition": True}


@pytest.mark.parametrize("mode", MODES)
def test_voice_without_recognition_asks_to_type(service, wechat, rasa, openid, mode):
    before = len(rasa.received)
    delivery = send(service, wechat, wx.voice(openid), mode)
    assert "没能听清" in delivery.shown.content and "打字" in delivery.shown.content
    assert len(rasa.received) == before


UNREADABLE = [
    (wx.image, "[图片]", "图片"),
    (wx.location, "[位置]", "位置"),
    (wx.link, "[链接]", "链接"),
    (wx.video, "[视频]", "视频"),
    (lambda o: wx.video(o, short=True), "[视频]", "视频"),
    (wx.unknown, "[消息]", "这类消息"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("build", "stored", "named"), UNREADABLE)
def test_what_the_assistant_cannot_read_gets_a_polite_note_and_is_kept(
    service, wechat, rasa, openid, mode, build, stored, named
):
    before = len(rasa.received)
    delivery = send(service, wechat, build(openid), mode)
    assert f"看不懂{named}" in delivery.shown.content and "转人工" in delivery.shown.content
    assert len(rasa.received) == before, "the assistant is not asked about an image"
    citizen = history(service, openid)[0]
    assert citizen.text == stored and citizen.payload["wechat"]["type"]


def test_an_image_keeps_its_address_for_the_agents(service, wechat, openid):
    send(service, wechat, wx.image(openid), "safe")
    assert history(service, openid)[0].payload["wechat"]["url"] == "http://mmbiz.example/pic.jpg"


@pytest.mark.parametrize("mode", MODES)
def test_subscribe_gets_the_welcome_with_the_menu(service, wechat, openid, mode):
    delivery = send(service, wechat, wx.event(openid, "subscribe"), mode)
    assert "欢迎关注" in delivery.shown.content
    assert all(name in delivery.shown.content for name in ("智能问答", "办事服务", "人工服务"))
    assert history(service, openid)[0].text == "（关注了公众号）"


def test_subscribe_from_a_qr_code_keeps_the_scene(service, wechat, openid):
    delivery = send(service, wechat, wx.event(openid, "subscribe", key="qrscene_hall-3", Ticket="t"), "plain")
    assert "欢迎关注" in delivery.shown.content
    assert history(service, openid)[0].payload["wechat"]["scene"] == "hall-3"


@pytest.mark.parametrize("mode", MODES)
def test_scan_by_a_follower_is_welcomed_back(service, wechat, openid, mode):
    delivery = send(service, wechat, wx.event(openid, "SCAN", key="hall-3", Ticket="t"), mode)
    assert "欢迎回来" in delivery.shown.content


@pytest.mark.parametrize("mode", MODES)
def test_unsubscribe_is_recorded_without_a_reply(service, wechat, openid, mode):
    delivery = send(service, wechat, wx.event(openid, "unsubscribe"), mode)
    assert delivery.shown is None
    assert history(service, openid)[0].text == "（取消关注了公众号）"


@pytest.mark.parametrize("mode", MODES)
def test_menu_click_with_say_asks_the_assistant(service, wechat, rasa, openid, mode):
    delivery = send(service, wechat, wx.event(openid, "CLICK", key="LOAN_CALC"), mode)
    assert rasa.received[-1]["message"] == "帮我算一下公积金贷款月供"
    assert delivery.shown.content == "收到：帮我算一下公积金贷款月供"


def test_menu_click_with_reply_answers_as_written_and_unknown_keys_politely(service, wechat, rasa, openid):
    before = len(rasa.received)
    assert "请直接发文字或语音提问" in send(service, wechat, wx.event(openid, "CLICK", key="POLICY"), "plain").shown.content
    assert "暂未开放" in send(service, wechat, wx.event(openid, "CLICK", key="GONE"), "plain").shown.content
    assert len(rasa.received) == before


@pytest.mark.parametrize("mode", MODES)
def test_menu_view_is_recorded_without_a_reply(service, wechat, openid, mode):
    delivery = send(service, wechat, wx.event(openid, "VIEW", key="https://housefund.hd.gov.cn/wt/withdraw"), mode)
    assert delivery.shown is None
    assert history(service, openid)[0].payload["wechat"]["url"] == "https://housefund.hd.gov.cn/wt/withdraw"


@pytest.mark.parametrize("mode", MODES)
def test_location_reports_and_unknown_events_are_acknowledged_silently(service, wechat, openid, mode):
    location = wx.event(openid, "LOCATION", Latitude="36.6", Longitude="114.5", Precision="30")
    assert send(service, wechat, location, mode).shown is None
    assert send(service, wechat, wx.event(openid, "SOME_NEW_EVENT"), mode).shown is None
    assert history(service, openid) == [], "periodic location reports are not kept"


def test_empty_text_is_answered_with_a_hint(service, wechat, rasa, openid):
    before = len(rasa.received)
    delivery = send(service, wechat, wx.text(openid, "   "), "plain")
    assert "不能为空" in delivery.shown.content and len(rasa.received) == before


def test_reply_text_that_looks_like_xml_arrives_intact(service, wechat, rasa, openid):
    rasa.scripts["标记"] = [{"text": "a]]>b <c> & 😀"}]
    assert send(service, wechat, wx.text(openid, "标记"), "plain").shown.content == "a]]>b <c> & 😀"
    assert send(service, wechat, wx.text(openid, "标记"), "safe").shown.content == "a]]>b <c> & 😀"
