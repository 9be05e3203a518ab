"""Answers rewritten for the ear: short sentences, numbers, dates and amounts as a Mandarin speaker
says them, and nothing that only makes sense on a screen (links, Markdown, tables, symbols).

Both phone synthesis (Twilio's zh-CN voices) and espeak-ng read digit strings their own way
(espeak reads a hotline such as 12345 as 一万两千三百四十五), so the text is spelled out here, once, for every engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from conversations.replies import MEDIA_WORDS, Reply

DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "万亿")
# Measure words after which 2 is said 两 (两万元, 两个月, 两年), not 二.
_LIANG_BEFORE = "个万千百年位种次套倍天周项份人岁层间元块名条张本小"
# Words after which a number is a phone, account or ticket number, read digit by digit.
_SPELLED_AFTER = re.compile(r"(热线|电话|拨打|号码|尾号|编号|单号|手机|邮编|代码)[:：\s是为]*$")
MAX_SENTENCE_CHARS = 40
MAX_SPOKEN_MEDIA = 2


@dataclass
class SpokenReply:
    sentences: list[str]
    links: list[dict] = field(default_factory=list)
    truncated: bool = False

    @property
    def text(self) -> str:
        return "".join(self.sentences)


def chinese_number(n: int) -> str:
    """A cardinal number as said aloud: 120000 → 十二万, 1005 → 一千零五, 10 → 十."""
    if n < 0:
        return "负" + chinese_number(-n)
    if n == 0:
        return DIGITS[0]
    groups: list[int] = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out = ""
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or group < 1000):
            out += DIGITS[0]
        out += _group(group) + _BIG_UNITS[index]
        zero_pending = False
    if out.startswith("一十"):
        return out[1:]
    return "两" + out[1:] if out.startswith(("二千", "二万", "二亿")) else out


def chinese_count(n: int) -> str:
    """A number before a measure word: 2 is 两 (两位, 两分钟)."""
    return "两" if n == 2 else chinese_number(n)


def _group(n: int) -> str:
    """0 < n < 10000, with zeros in the middle said once (1005 → 一千零五)."""
    out, zero = "", False
    for position in range(3, -1, -1):
        digit = n // 10**position % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += DIGITS[0]
            zero = False
        out += DIGITS[digit] + _SMALL_UNITS[position]
    return out


def spell_digits(digits: str) -> str:
    return "".join(DIGITS[int(d)] for d in digits if d.isdigit())


def _decimal(number: str) -> str:
    whole, _, fraction = number.partition(".")
    spoken = chinese_number(int(whole))
    return spoken + ("点" + spell_digits(fraction) if fraction else "")


def _integer(match: re.Match) -> str:
    number = match.group(0)
    before = match.string[max(0, match.start() - 8):match.start()]
    after = match.string[match.end():match.end() + 1]
    if _SPELLED_AFTER.search(before) or (len(number) > 1 and number.startswith("0")) or len(number) > 12:
        return spell_digits(number)
    value = int(number)
    if value == 2 and after and after in _LIANG_BEFORE:
        return "两"
    return chinese_number(value)


def _date(match: re.Match) -> str:
    year, month, day = match.group(1), int(match.group(2)), match.group(3)
    spoken = f"{spell_digits(year)}年{chinese_number(month)}月"
    return spoken + (f"{chinese_number(int(day))}日" if day else "")


def _clock(match: re.Match) -> str:
    hour, minute = int(match.group(1)), int(match.group(2))
    return f"{chinese_number(hour)}点" + (f"{chinese_number(minute)}分" if minute else "")


def speak_numbers(text: str) -> str:
    """Every number in `text` in words, in the reading that fits it (dates, clock times, percentages,
    amounts with thousands separators, ranges, phone numbers digit by digit)."""
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    text = re.sub(r"(?<!\d)(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})[日号]?|月)", _date, text)
    text = re.sub(r"(?<!\d)(\d{4})(?=年)", lambda m: spell_digits(m.group(1)), text)
    text = re.sub(r"(?<=\d)\s*(?:-|~|～|—|至)\s*(?=\d)", "到", text)
    text = re.sub(r"(?<!\d)([01]?\d|2[0-3])[:：]([0-5]\d)(?!\d)", _clock, text)
    text = re.sub(r"(\d+(?:\.\d+)?)(?=到\d+(?:\.\d+)?\s*[%％])", lambda m: "百分之" + _decimal(m.group(1)), text)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*[%％]", lambda m: "百分之" + _decimal(m.group(1)), text)
    text = re.sub(r"\d+\.\d+", lambda m: _decimal(m.group(0)), text)
    return re.sub(r"\d+", _integer, text)


_SYMBOLS = [
    (re.compile(r"≤|<=|不超过"), "不超过"),
    (re.compile(r"≥|>=|不低于"), "不低于"),
    (re.compile(r"[＜<]"), "小于"),
    (re.compile(r"[＞>]"), "大于"),
    (re.compile(r"[×xX*](?=\s*\d)"), "乘以"),
    (re.compile(r"㎡|m²|平米"), "平方米"),
    (re.compile(r"(?<=[元\w])/(?=[月年人天次户])"), "每"),
    (re.compile(r"[→⇒➜]"), "，然后"),
    (re.compile(r"[·•●◆■□★☆※]"), "，"),
]
# A link and the words that only point at it ("详见 https://…") go together.
_URL = re.compile(
    r"(?:(?:详情?见|详见|请访问|访问|点击|打开|链接|网址)[:：\s]*)?(?:https?://|www\.)[^\s，。；、）)\]】]+", re.I
)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINK_WORDS = re.compile(r"^(下载|点击|点此|这里|此处|链接|入口|在线办理|办理入口|立即办理)$")
# Reference lines under an answer (its date, the regulations it rests on): for reading, not for the ear.
_REFERENCE_LINE = re.compile(r"^(信息日期|更新日期|发布日期|依据|政策依据|法规依据|来源|出处)\s*[:：]")


def _strip_markup(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = _MD_LINK.sub(lambda m: "" if _LINK_WORDS.match(m.group(1).strip()) else m.group(1), text)
    text = _URL.sub("", text)
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if re.fullmatch(r"[|:\-\s]+", line) or _REFERENCE_LINE.match(re.sub(r"^[#>\-\s（(]+|[*_`]", "", line)):
            continue  # a table's rule line, or a reference line
        line = re.sub(r"^(#{1,6}\s*|>\s*|[-*+]\s+|\d+[.、)）]\s*|[（(]\d+[)）]\s*|[一二三四五六七八九十]+、)", "", line)
        line = line.strip("|").replace("|", "，")
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"(\*\*|__|\*|`|~~)", "", text)
    text = re.sub(r"[（(]\s*[)）]", "", text)  # brackets a removed link left empty
    text = re.sub(r"[《》“”\"「」『』【】]", "", text)
    text = re.sub(r"[（(]", "，", text)
    return re.sub(r"[)）]", "，", text)


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    for part in re.split(r"[。！？!?；;\n]+", text):
        part = re.sub(r"[，,、：:\s]+$", "", re.sub(r"^[，,、：:\s]+", "", part))
        part = re.sub(r"\s*[，,、：:]\s*(?:[，,、：:]\s*)+", "，", part)  # what removed brackets leave
        part = re.sub(r"\s+", " ", part)
        if part:
            out.extend(_short(part))
    return out


def _short(sentence: str) -> list[str]:
    """A sentence longer than the ear can hold is split at its commas."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence + "。"]
    pieces, current = [], ""
    for clause in re.split(r"(?<=[，,：:])", sentence):
        if current and len(current) + len(clause) > MAX_SENTENCE_CHARS:
            pieces.append(current.rstrip("，,：: ") + "。")
            current = ""
        current += clause
    if current.strip("，,：: "):
        pieces.append(current.rstrip("，,：: ") + "。")
    return pieces


def for_ear(reply: Reply | str, max_chars: int = 300) -> SpokenReply:
    """The reply as sentences to speak. Choices are read as "您可以说：…"; links are never read (the
    caller is offered them by SMS instead); past `max_chars` the answer stops at a sentence end."""
    if isinstance(reply, str):
        reply = Reply(text=reply)
    text = _strip_markup(reply.text)
    for pattern, spoken in _SYMBOLS:
        text = pattern.sub(spoken, text)
    sentences = _sentences(speak_numbers(text))
    kept: list[str] = []
    for sentence in sentences:
        if kept and sum(map(len, kept)) + len(sentence) > max_chars:
            break
        kept.append(sentence)
    # A picture or video cannot be shown on a call: its caption says what it shows (at most two, briefly).
    described = 0
    for media in reply.media[:MAX_SPOKEN_MEDIA]:
        caption = speak_numbers(_strip_markup(str(media.get("caption", "")))).strip("，。 ")
        if caption:
            kept.append(f"这条答复配有{MEDIA_WORDS.get(str(media.get('kind')), '图片')}，内容是：{caption}。")
            described += 1
    titles = [speak_numbers(_strip_markup(b["title"])).strip("，。 ") for b in reply.buttons if b.get("title")]
    if titles:
        kept.append("您可以说：" + "，或者".join(t for t in titles if t) + "。")
    return SpokenReply(kept, links=list(reply.links),
                       truncated=len(kept) - bool(titles) - described < len(sentences))
