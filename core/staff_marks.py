"""Editorial marks for staff ("待中心确认", "二手资料") kept out of what citizens read.

Articles and parameter files note where a fact is the centre's to confirm; agents and the knowledge
admin see those notes as written, while every citizen-facing text (answers on every channel, the
calculators, the checklists) passes through `for_citizens`. Write such a note in parentheses
("（待中心确认）") or as its own clause ("，本市做法待中心确认"), so removing it leaves a whole sentence.
"""
from __future__ import annotations

import re

_WORDS = r"(?:待(?:中心|进一步)?(?:确认|核实|核定)|须(?:中心)?确认|二手资料|编者注|内部备注)"
# A parenthetical holding a mark goes whole: "参数（待中心确认）", "（比例、倍数、上限，待中心确认）".
_PARENTHETICAL = re.compile(rf"\s*[（(][^（）()]*{_WORDS}[^（）()]*[）)]")
# A clause holding a mark goes with its separator: "…公开口径，邯郸中心参数待中心确认".
_CLAUSE = re.compile(rf"[，,；;]?[^，,；;。！？!?\n（）()]*{_WORDS}[^，,；;。！？!?\n（）()]*")
_DANGLING = re.compile(r"[，,；;]\s*(?=[。！？!?）)]|$)")


def has_marks(text: str) -> bool:
    return re.search(_WORDS, text) is not None


def for_citizens(text: str) -> str:
    """The text without staff marks; unchanged when it has none."""
    if not has_marks(text):
        return text
    text = _PARENTHETICAL.sub("", text)
    text = _CLAUSE.sub("", text)
    return _DANGLING.sub("", text)
