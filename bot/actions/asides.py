"""Reading a message inside a form: a question of the citizen's own (answered, then the form offers to
resume), a question about the form's own question or an answer (the form asks again), or "继续"."""
from __future__ import annotations

import re

from . import numbers

_RESUME = re.compile(r"^\s*(?:好的?|嗯|行)?[，,\s]*(?:继续|接着)")
_QUESTION = re.compile(r"[？?]|吗|呢|什么|啥|怎么|怎样|咋|如何|哪|谁|几|为什么|为啥|能不能|可不可以|是不是|有没有")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# A question about the form's own question ("啥意思", "为什么要问这个") is no aside: the form explains
# what it needs and asks again.
_ABOUT_THE_QUESTION = re.compile(r"意思|为什么|为啥|不懂|不明白|没听懂|没看懂|怎么填|怎么答|怎么回答")


def is_resume(text: str) -> bool:
    """"继续计算" / "接着算" / "好，继续": back to the form after a question asked inside it."""
    return bool(_RESUME.search(text))


def reads_as_question(text: str) -> bool:
    """A message the NLU could not place that is still a question ("明天天气怎么样"), not a garbled
    answer ("三十来个"): a question word, or a longer sentence without a digit."""
    if numbers.is_unsure(text) or _ABOUT_THE_QUESTION.search(text):
        return False
    chars = len(_CJK.findall(text))
    return (chars >= 4 and bool(_QUESTION.search(text))) or (chars >= 6 and not re.search(r"\d", text))


def asks_about_the_question(text: str) -> bool:
    """"啥意思" / "为什么要问这个": whatever the NLU reads, the form explains and asks again."""
    return bool(_ABOUT_THE_QUESTION.search(text))
