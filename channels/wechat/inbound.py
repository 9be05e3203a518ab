"""WeChat messages and events → the one inbound message the hub stores, and whether the assistant
answers it.

Text, and voice that WeChat transcribed, go to the assistant. What it cannot read (images,
locations, links, videos, untranscribed voice, unknown types) is stored for the agents and answered
with a polite note of what the account can do; events get the answers WeChat users expect.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from wechatpy import events, messages
from wechatpy.messages import BaseMessage

from channels.wechat.menu import Menu
from conversations.inbound import CitizenKey, Inbound, WeChatDetail
from conversations.models import Channel
from conversations.replies import Reply
from conversations.text import clean_text
from core.errors import ApiError


@dataclass(frozen=True)
class Incoming:
    """A WeChat message or event as the conversation records it, and who answers it."""

    inbound: Inbound
    fixed: list[Reply] | None = None        # None: the assistant answers the text; else these (maybe none)

    @property
    def openid(self) -> str:
        return self.inbound.citizen.value


class Texts:
    """What the account says on its own, with the centre's hotline and menu filled in."""

    def __init__(self, hotline: str, menu: Menu) -> None:
        names = "、".join(f"“{name}”" for name in menu.top_names)
        self.welcome = (
            "您好，欢迎关注住房公积金管理中心！我是智能客服，7×24小时为您解答：\n"
            "· 公积金缴存、提取、贷款政策\n· 贷款额度和月供计算\n· 办事材料、流程和进度\n"
            f"直接发文字或语音提问就可以，也可以点下方菜单{names}。需要人工服务请回复“转人工”，"
            f"服务热线 {hotline}。"
        )
        self.welcome_back = "欢迎回来！请直接发文字或语音提问，需要人工服务请回复“转人工”。"
        self.cannot_read = (
            "抱歉，我暂时看不懂{what}。我能用文字回答公积金缴存、提取、贷款等问题，请用文字或语音描述您的问题；"
            f"需要人工服务请回复“转人工”，或拨打服务热线 {hotline}。"
        )
        self.voice_unclear = "抱歉，没能听清这条语音。请再说一遍，或直接打字提问。"
        self.menu_unknown = "这个菜单功能暂未开放，请直接发文字提问。"


def client_msg_id(message: BaseMessage) -> str:
    """WeChat's retries repeat the message: MsgId with sender and time (MsgIds alone collide);
    events have no MsgId, so sender, time and event, and the event's key (two menu buttons tapped
    within one second are two events; a retry repeats the key)."""
    if isinstance(message, events.BaseEvent):
        key = str(message._data.get("EventKey") or "")
        digest = hashlib.sha1(key.encode()).hexdigest()[:12] if key else "-"
        return f"{message.source}:{message.time}:{message.event}:{digest}"
    return f"{message.id}:{message.source}:{message.time}"


def to_inbound(message: BaseMessage, texts: Texts, menu: Menu) -> Incoming | None:
    """None for what is not part of the conversation (periodic location reports, job reports)."""
    if isinstance(message, events.BaseEvent):
        return _event(message, texts, menu)
    raw_type = str(message._data.get("MsgType", "unknown"))[:20]
    if raw_type == "event":
        return None  # an event wechatpy does not know: nothing the citizen said, nothing to answer
    kind = WeChatDetail(type=message.type)
    if isinstance(message, messages.TextMessage):
        try:
            return Incoming(_inbound(message, clean_text(message.content or "")))
        except ApiError as error:  # empty or too long: say so, as the web page would
            label = "[超长消息]" if error.code == "message_too_long" else "[空消息]"
            return Incoming(_inbound(message, label, kind), fixed=[Reply(error.message)])
    if isinstance(message, messages.VoiceMessage):
        heard = (message.recognition or "").strip()
        if heard:
            return Incoming(_inbound(message, heard, WeChatDetail(type="voice", recognition=True)))
        return Incoming(_inbound(message, "[语音]", kind), fixed=[Reply(texts.voice_unclear)])
    unreadable = _unreadable(message)
    if unreadable is not None:
        label, detail = unreadable
        return Incoming(_inbound(message, f"[{label}]", detail), fixed=[Reply(texts.cannot_read.format(what=label))])
    polite = Reply(texts.cannot_read.format(what="这类消息"))
    return Incoming(_inbound(message, "[消息]", WeChatDetail(type=raw_type)), fixed=[polite])


def _inbound(message: BaseMessage, text: str, detail: WeChatDetail | None = None) -> Inbound:
    citizen = CitizenKey(Channel.WECHAT, message.source)
    return Inbound(
        channel=Channel.WECHAT, citizen=citizen, text=text, client_msg_id=client_msg_id(message), detail=detail
    )


def _unreadable(message: BaseMessage) -> tuple[str, WeChatDetail] | None:
    """A label and what agents may want to open later."""
    if isinstance(message, messages.ImageMessage):
        return "图片", WeChatDetail(type=message.type, url=message.image, media_id=message.media_id)
    if isinstance(message, messages.LocationMessage):
        location = {"label": message.label, "lat": message.location_x, "lng": message.location_y}
        return "位置", WeChatDetail(type=message.type, **location)
    if isinstance(message, messages.LinkMessage):
        return "链接", WeChatDetail(type=message.type, title=message.title, url=message.url)
    if isinstance(message, (messages.VideoMessage, messages.ShortVideoMessage)):
        return "视频", WeChatDetail(type=message.type, media_id=message.media_id)
    return None


def _event(event: events.BaseEvent, texts: Texts, menu: Menu) -> Incoming | None:
    detail = WeChatDetail(type="event", event=event.event)
    if isinstance(event, (events.SubscribeEvent, events.SubscribeScanEvent)):
        scene = getattr(event, "scene_id", None) or getattr(event, "key", None)
        detail = replace(detail, scene=scene or None)
        return Incoming(_inbound(event, "（关注了公众号）", detail), fixed=[Reply(texts.welcome)])
    if isinstance(event, events.UnsubscribeEvent):
        return Incoming(_inbound(event, "（取消关注了公众号）", detail), fixed=[])
    if isinstance(event, events.ScanEvent):
        detail = replace(detail, scene=event.scene_id)
        return Incoming(_inbound(event, "（扫描了二维码）", detail), fixed=[Reply(texts.welcome_back)])
    if isinstance(event, events.ClickEvent):
        return _click(event, replace(detail, key=event.key), texts, menu)
    if isinstance(event, events.ViewEvent):
        return Incoming(_inbound(event, "（打开了菜单链接）", replace(detail, url=event.url)), fixed=[])
    return None


def _click(event: events.ClickEvent, detail: WeChatDetail, texts: Texts, menu: Menu) -> Incoming:
    action = menu.clicks.get(event.key or "")
    if action is None:
        return Incoming(_inbound(event, "（点击了菜单）", detail), fixed=[Reply(texts.menu_unknown)])
    if action.say is not None:
        return Incoming(_inbound(event, action.say, detail))
    return Incoming(_inbound(event, f"（点击菜单：{action.name}）", detail), fixed=[Reply(action.reply or "")])
