"""Twilio's form fields → who is calling and what they did, at the phone line's edge.

A `<Gather>` comes back with a key (Digits), words (SpeechResult, with the recogniser's Confidence),
or nothing. Words that cannot be stored (nothing left once cleaned, or too long to be a question)
count as silence: on the phone the caller is asked again, never shown an error.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from conversations.inbound import CitizenKey, Inbound, Keypress, Speech
from conversations.models import Channel
from conversations.text import clean_text
from core.errors import ApiError

PHONE_NUMBER = re.compile(r"^\+?\d{5,15}$")
# What Twilio puts in From when the caller withholds their number (ANONYMOUS, UNKNOWN, RESTRICTED,
# BLOCKED on a keypad): such callers must not all become one citizen.
_WITHHELD = frozenset({"+266696687", "+86282452253", "+7378742833", "+2562533"})
# Menu keys that stand for a question to the assistant.
MENU_QUESTIONS = {"2": "我想算一下公积金贷款", "3": "怎么查询公积金业务办理进度"}


def caller_number(raw_from: str) -> str:
    """The caller's number from Twilio's From; "" for a withheld number (a placeholder, nobody's)."""
    return "" if raw_from in _WITHHELD else raw_from


def citizen_of_call(caller: str, call_sid: str) -> CitizenKey:
    """The caller's number names the citizen; a call without one is a citizen of its own."""
    return CitizenKey("phone", caller if PHONE_NUMBER.match(caller) else f"anonymous:{call_sid}")


def from_gather(params: Mapping[str, str], *, citizen: CitizenKey, step: int) -> Inbound | None:
    """One gather's fields → a key press or words as the inbound message; None for silence. `step`
    is the call's step this request was issued for: with the call it names the message, so the same
    turn delivered twice is stored once."""
    call_sid = params.get("CallSid", "")
    if not call_sid:
        raise ApiError(422, "invalid_request", "缺少通话编号。")
    message_id = f"twilio:{call_sid}:{step}"
    digits = params.get("Digits", "").strip()
    if digits:
        key = digits[0]
        pressed = Keypress(key)
        text = MENU_QUESTIONS.get(key, key)
        return Inbound(channel=Channel.PHONE, citizen=citizen, text=text, client_msg_id=message_id, detail=pressed)
    words = spoken_words(params.get("SpeechResult", ""))
    if not words:
        return None
    speech = Speech(confidence=speech_confidence(params.get("Confidence")))
    return Inbound(channel=Channel.PHONE, citizen=citizen, text=words, client_msg_id=message_id, detail=speech)


def spoken_words(speech: str) -> str:
    """What Twilio heard, cleaned; words that are no message at all become nothing to answer."""
    try:
        return clean_text(speech)
    except ApiError:
        return ""


def speech_confidence(raw: str | None) -> float | None:
    """Twilio's recogniser confidence; 0 or missing means it gave none, which is not "unsure"."""
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        return None
    return value if value > 0 else None
