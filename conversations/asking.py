"""Recognising a plain request for a person when the bot cannot be asked.

With Rasa down or slow the hub answers alone; a citizen who only says "转人工" must still reach the
agents' pool rather than get a knowledge-base clarification. This is deliberately a short list of
phrases, not a model: the whole message (NFKC-normalised, without spaces, punctuation and polite
filler) must be one of them, so a policy question that merely mentions 人工 ("人工客服能查贷款额度吗")
still goes to the knowledge base.

Recognised (any polite opening such as 你好/请/麻烦/帮我, any closing such as 吧/谢谢):
- a person: [我][想|要|需要|希望][跟|和|找|转|转接|接|联系] 人工 / 人工客服 / 人工服务 / 真人 / 客服 /
  客服人员 / 坐席 / 工作人员 [聊|聊聊|聊天|说|谈谈|沟通|服务|咨询]  — "我想跟人工聊", "转人工", "找客服"
- a complaint: [我][想|要] 投诉 [一下] [你们]  — "我要投诉"
"""
from __future__ import annotations

import re
import unicodedata
from typing import Literal

PersonRequest = Literal["citizen_request", "complaint"]

# Spaces, punctuation and symbols say nothing about the request ("转人工！", "人工 客服").
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_OPENING = r"(?:你好|您好|喂|请问|请|麻烦你|麻烦您|麻烦|帮我|给我)*"
_WANT = r"我?(?:想要|想|要|需要|希望)?"
_CLOSING = r"(?:一下|吧|啊|呀|哦|嘛|了|可以吗|行吗|好吗|谢谢|谢谢你|谢谢您)*"
_PERSON = re.compile(
    _OPENING + _WANT
    + r"(?:跟|和|与|找|转|转接|接|联系)?"
    + r"(?:人工客服|人工服务|人工坐席|人工|真人客服|真人|客服人员|客服|坐席|工作人员)"
    + r"(?:聊聊|聊天|聊|说话|说|谈谈|沟通|服务|咨询)?"
    + _CLOSING
)
_COMPLAINT = re.compile(_OPENING + _WANT + r"投诉(?:一下)?(?:你们)?" + _CLOSING)
# A plain request is short; anything longer is a question to answer, whatever it contains.
_MAX_CHARS = 20


def asks_for_person(text: str) -> PersonRequest | None:
    """The handoff reason if the whole message is a plain request for a person, else None."""
    plain = _NOISE.sub("", unicodedata.normalize("NFKC", text))
    if not plain or len(plain) > _MAX_CHARS:
        return None
    if _COMPLAINT.fullmatch(plain):
        return "complaint"
    if _PERSON.fullmatch(plain):
        return "citizen_request"
    return None
