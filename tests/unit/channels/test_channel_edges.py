"""Each channel's edge: the provider's payload in, the one typed inbound message out (or a coded error),
with the stored JSON every existing row has; and the one way from a stored message back to a Reply."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from wechatpy import parse_message

import channels.wechat
from channels.app_api import AppMessageIn
from channels.app_api import to_inbound as app_inbound
from channels.voice.phone_inbound import caller_number, citizen_of_call, from_gather
from channels.voice.webrtc import from_transcript
from channels.web import to_inbound as web_inbound
from channels.wechat.inbound import Texts
from channels.wechat.inbound import to_inbound as wechat_inbound
from channels.wechat.menu import load_menu
from conversations.inbound import Choice, CitizenKey, Inbound, Keypress, Speech, Voice, WeChatDetail
from conversations.models import Author, Channel, Direction, Message
from conversations.replies import Reply, reply_of
from core.errors import ApiError
from fakes import wechat as wx

MENU_FILE = Path(channels.wechat.__file__).with_name("menu.yml")

# -- web socket ---------------------------------------------------------------------------------------


def test_a_web_frame_becomes_one_inbound_message():
    frame = json.dumps({"type": "message", "text": "  租房提取\u200b要什么材料 ", "client_msg_id": "w-1"})
    assert web_inbound(frame, "visitor-1") == Inbound(
        channel=Channel.WEB, citizen=CitizenKey("web", "visitor-1"), text="租房提取要什么材料", client_msg_id="w-1"
    )


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ('{"type": "typing", "text": "x"}', "bad_frame"),
        ('{"type": "message", "text": 7}', "bad_frame"),
        ('{"type": "message", "text": "x", "client_msg_id": 5}', "bad_frame"),
        ('{"type": "message", "text": " \\u0000 "}', "empty_message"),
        (json.dumps({"type": "message", "text": "字" * 2001}), "message_too_long"),
        ("x" * (65 * 1024), "message_too_long"),
    ],
)
def test_a_bad_web_frame_is_a_coded_error(frame, code):
    with pytest.raises(ApiError) as err:
        web_inbound(frame, "visitor-1")
    assert err.value.code == code and err.value.message


# -- app API ------------------------------------------------------------------------------------------


def test_an_app_body_becomes_one_inbound_message_for_the_credentials_citizen():
    body = AppMessageIn(user_id="u-1", text="能贷多少", client_msg_id="a-1")
    assert app_inbound(body, "u-1") == Inbound(
        channel=Channel.APP, citizen=CitizenKey("app", "u-1"), text="能贷多少", client_msg_id="a-1"
    )
    assert app_inbound(AppMessageIn(text="你好"), "token-user").citizen == CitizenKey("app", "token-user")


def test_an_empty_app_message_is_a_coded_error():
    with pytest.raises(ApiError) as err:
        app_inbound(AppMessageIn(user_id="u-1", text=" \u200b "), "u-1")
    assert err.value.code == "empty_message"


# -- WeChat -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wechat_parts() -> tuple[Texts, object]:
    menu = load_menu(MENU_FILE, None)
    return Texts("12329", menu), menu


def wechat(fields: dict, parts) -> object:
    return wechat_inbound(parse_message(wx.to_xml(fields)), *parts)


def test_wechat_text_becomes_one_inbound_message_for_the_assistant(wechat_parts):
    incoming = wechat(wx.text("o-1", "租房提取要什么材料"), wechat_parts)
    inbound = incoming.inbound
    assert incoming.fixed is None and incoming.openid == "o-1"
    assert (inbound.channel, inbound.citizen, inbound.text) == (Channel.WECHAT, CitizenKey("wechat", "o-1"),
                                                                 "租房提取要什么材料")
    assert ":o-1:" in inbound.client_msg_id, "WeChat's MsgId with sender and time: a retry is stored once"
    assert inbound.payload() == {}, "plain text is stored as it always was: no WeChat detail"


def test_wechat_voice_image_and_menu_click_keep_their_stored_json(wechat_parts):
    voice = wechat(wx.voice("o-1", recognition="退休了公积金咋取。"), wechat_parts).inbound
    assert voice.text == "退休了公积金咋取。"
    assert voice.payload() == {"wechat": {"type": "voice", "recognition": True}}
    image = wechat(wx.image("o-1"), wechat_parts)
    assert image.inbound.text == "[图片]" and "图片" in image.fixed[0].text
    assert image.inbound.payload() == {
        "wechat": {"type": "image", "url": "http://mmbiz.example/pic.jpg", "media_id": "media-image"}
    }
    click = wechat(wx.event("o-1", "CLICK", key="LOAN_CALC"), wechat_parts).inbound
    assert click.text == "帮我算一下公积金贷款月供"
    assert click.detail == WeChatDetail(type="event", event="click", key="LOAN_CALC")
    assert click.payload() == {"wechat": {"type": "event", "event": "click", "key": "LOAN_CALC"}}


def test_unreadable_wechat_input_is_answered_politely_not_refused(wechat_parts):
    empty = wechat(wx.text("o-1", " \u200b "), wechat_parts)
    assert empty.inbound.text == "[空消息]" and empty.fixed == [Reply("消息内容不能为空，请输入您的问题。")]
    assert empty.inbound.payload() == {"wechat": {"type": "text"}}
    unknown = wechat(wx.unknown("o-1"), wechat_parts)
    assert unknown.inbound.payload() == {"wechat": {"type": "file"}} and unknown.fixed


def test_a_choice_is_stored_beside_the_detail():
    inbound = Inbound(channel=Channel.WECHAT, citizen=CitizenKey("wechat", "o-1"), text="我想提取公积金",
                      detail=WeChatDetail(type="text"), choice=Choice(2, "提取"))
    assert inbound.payload() == {"wechat": {"type": "text"}, "choice": {"number": 2, "title": "提取"}}


# -- phone (Twilio) ----------------------------------------------------------------------------------

CALLER = CitizenKey("phone", "+8613812345678")


def test_twilio_speech_becomes_one_inbound_message_with_its_confidence():
    params = {"CallSid": "CA1", "SpeechResult": " 公积金怎么提取 ", "Confidence": "0.87"}
    inbound = from_gather(params, citizen=CALLER, step=3)
    assert inbound == Inbound(channel=Channel.PHONE, citizen=CALLER, text="公积金怎么提取",
                              client_msg_id="twilio:CA1:3", detail=Speech(0.87))
    assert inbound.payload() == {"speech": {"confidence": 0.87}}
    unsure = from_gather(params | {"Confidence": "0"}, citizen=CALLER, step=3)
    assert unsure.detail == Speech(None), "0 means Twilio gave no confidence, not that it was unsure"


def test_a_twilio_key_becomes_a_keypress_and_menu_keys_their_question():
    pressed = from_gather({"CallSid": "CA1", "Digits": "2#", "SpeechResult": "你好"}, citizen=CALLER, step=1)
    assert pressed.detail == Keypress("2") and pressed.text == "我想算一下公积金贷款"
    assert pressed.payload() == {"dtmf": "2"}
    assert from_gather({"CallSid": "CA1", "Digits": "0"}, citizen=CALLER, step=1).detail == Keypress("0")


def test_twilio_silence_or_unusable_words_are_no_message_and_a_gather_without_a_call_is_refused():
    assert from_gather({"CallSid": "CA1"}, citizen=CALLER, step=1) is None
    assert from_gather({"CallSid": "CA1", "SpeechResult": "字" * 2001}, citizen=CALLER, step=1) is None
    with pytest.raises(ApiError) as err:
        from_gather({"SpeechResult": "你好"}, citizen=CALLER, step=1)
    assert err.value.code == "invalid_request"


def test_a_withheld_number_is_nobodys_and_its_call_a_citizen_of_its_own():
    assert caller_number("+266696687") == ""
    assert citizen_of_call("", "CA9") == CitizenKey("phone", "anonymous:CA9")
    assert citizen_of_call("+8613812345678", "CA9") == CALLER


# -- WebRTC -------------------------------------------------------------------------------------------


def test_a_recognised_utterance_becomes_one_inbound_message():
    citizen = CitizenKey("web", "visitor-1")
    inbound = from_transcript(" 公积金能贷多少 ", citizen=citizen, engine="sherpa-onnx")
    assert inbound == Inbound(channel=Channel.WEBRTC, citizen=citizen, text="公积金能贷多少", detail=Voice("sherpa-onnx"))
    assert inbound.payload() == {"voice": {"engine": "sherpa-onnx"}}
    assert from_transcript("  ", citizen=citizen, engine="sherpa-onnx") is None, "nothing heard: asked again"
    with pytest.raises(ApiError) as err:
        from_transcript("字" * 2001, citizen=citizen, engine="sherpa-onnx")
    assert err.value.code == "message_too_long"


# -- stored message → Reply ---------------------------------------------------------------------------


def test_a_stored_message_reads_back_as_the_reply_it_was_sent_as():
    sent = Reply("请选择", buttons=[{"title": "提取", "payload": "我想提取"}], links=[{"title": "表", "url": "/f"}],
                 sources=[{"article_id": "a", "title": "T"}], meta={"fallback": "knowledge"})
    stored = Message(conversation_id="c", channel="app", direction=Direction.OUT, author=Author.BOT, text=sent.text,
                     payload=sent.payload() | {"in_reply_to": 7})
    assert reply_of(stored) == sent, "the message's place (in_reply_to) is not part of the reply"
    assert stored.in_reply_to == 7


def test_an_old_row_without_lists_reads_back_as_a_plain_reply():
    old = Message(conversation_id="c", channel="wechat", direction=Direction.OUT, author=Author.AGENT, text="您好",
                  payload=None)
    assert reply_of(old) == Reply("您好") and old.in_reply_to is None
