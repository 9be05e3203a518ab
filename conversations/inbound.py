"""The one inbound message type. Every channel turns its provider's payload (a socket frame, a JSON
body, Twilio's form fields, a recognised utterance, WeChat's XML) into an `Inbound` once, at its
edge; the hub stores and answers only this. `payload()` writes the same JSON the messages table has
always held, so stored rows, the pages and the console read old and new messages alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conversations.models import Channel


@dataclass(frozen=True)
class CitizenKey:
    """How a channel knows the citizen: an identity kind ("web" visitor, "app" user, "wechat" openid,
    "phone" number) and its value."""

    kind: str
    value: str


@dataclass(frozen=True)
class Speech:
    """Words Twilio's recogniser heard on the phone line; `confidence` None when it gave none."""

    confidence: float | None = None

    def payload(self) -> dict[str, Any]:
        return {"speech": {"confidence": self.confidence}}


@dataclass(frozen=True)
class Keypress:
    """A phone menu key that stands for a question."""

    key: str

    def payload(self) -> dict[str, Any]:
        return {"dtmf": self.key}


@dataclass(frozen=True)
class Voice:
    """Speech recognised by the service's own engine on an in-browser (WebRTC) call."""

    engine: str

    def payload(self) -> dict[str, Any]:
        return {"voice": {"engine": self.engine}}


@dataclass(frozen=True)
class WeChatDetail:
    """What a WeChat message or event was, beyond its text: its type, the event and menu key, a
    QR code's scene, and what agents may open later (a picture's address, a location)."""

    type: str                        # WeChat's MsgType: voice, image, location, link, video, event…
    event: str | None = None         # for events: subscribe, SCAN, CLICK, VIEW…
    key: str | None = None           # the menu button's key (CLICK)
    scene: str | None = None         # the QR code's scene (subscribe by scan, SCAN)
    recognition: bool = False        # voice that WeChat transcribed
    url: str | None = None           # a picture, a link, or a menu link opened (VIEW)
    media_id: str | None = None
    title: str | None = None
    label: str | None = None         # a location's place name
    lat: float | None = None
    lng: float | None = None

    def payload(self) -> dict[str, Any]:
        details: dict[str, object] = {"type": self.type}
        if self.recognition:
            details["recognition"] = True
        optional = {
            "event": self.event, "scene": self.scene, "url": self.url, "key": self.key, "media_id": self.media_id,
            "title": self.title, "label": self.label, "lat": self.lat, "lng": self.lng,
        }
        details |= {name: value for name, value in optional.items() if value is not None}
        return {"wechat": details}


Detail = Speech | Keypress | Voice | WeChatDetail


@dataclass(frozen=True)
class Choice:
    """The citizen answered numbered choices with a digit: the message's text is that button's payload."""

    number: int
    title: str


@dataclass(frozen=True)
class Inbound:
    channel: Channel
    citizen: CitizenKey
    text: str                        # cleaned at the edge: what the conversation records and the bot reads
    client_msg_id: str | None = None  # retries with the same id are stored once
    detail: Detail | None = None
    choice: Choice | None = None

    def payload(self) -> dict[str, Any]:
        """The stored message's JSON (the hub adds the client id)."""
        payload = self.detail.payload() if self.detail is not None else {}
        if self.choice is not None:
            payload["choice"] = {"number": self.choice.number, "title": self.choice.title}
        return payload
