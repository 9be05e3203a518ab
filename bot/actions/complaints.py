"""Telling a question on how to complain from a complaint to pass on (no Rasa imports: tested on its own)."""
from __future__ import annotations

import re

# "怎么投诉", "举报单位去哪举报": a question on how to complain is answered with the procedure and a person is
# offered; "我要投诉" or an upset citizen ("气死了，我要投诉") goes to a person at once.
_COMPLAINING = re.compile(r"投诉|举报|建议|意见|反映|差评|头诉")
_ASKS_HOW = re.compile(r"怎么|怎样|如何|咋|在哪|哪里|去哪|渠道|流程|步骤|电话|方式|途径|程序|找谁|哪个部门")
_UPSET = re.compile(
    r"气死|生气|气人|太差|垃圾|恼火|失望|受不了|破系统|什么态度|恶劣|推诿|磨叽|折腾|烦死|不满意|[!！]{2}"
)


def asks_how_to_complain(text: str) -> bool:
    """A question about the way to complain, not a complaint to pass on now (nor an upset citizen)."""
    return bool(_COMPLAINING.search(text) and _ASKS_HOW.search(text)) and not _UPSET.search(text)

