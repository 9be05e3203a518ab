"""Campaign texts with per-person variables (`{name}`, `{amount}` …), checked when the campaign is made.

A text names variables in braces; `{{` and `}}` are literal braces. Every variable must be a column
the audience has (an unknown one is refused at creation, not discovered on a call), and a recipient
whose value for a used variable is empty is a bad row: nothing is sent to them.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass

from core.errors import ApiError

MAX_TEXT = 1000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$|^[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9_]{0,19}$")
# Columns every audience has; `phone` is not offered: a message never reads a number aloud whole.
BUILT_IN = frozenset({"name"})


@dataclass(frozen=True)
class Template:
    text: str
    variables: tuple[str, ...]

    def render(self, values: dict[str, str]) -> str:
        """The text for one person; every variable was checked to have a value before this is called."""
        out: list[str] = []
        for literal, field, _spec, _conversion in string.Formatter().parse(self.text):
            out.append(literal)
            if field is not None:
                out.append(str(values.get(field, "")))
        return "".join(out)


def parse(text: str, *, what: str = "message") -> Template:
    """The template, or 422: empty, too long, or a placeholder that is not a plain variable name."""
    text = (text or "").strip()
    if not text:
        raise ApiError(422, "message_missing", "请填写外呼内容。", field=what)
    if len(text) > MAX_TEXT:
        raise ApiError(422, "message_too_long", f"外呼内容不能超过{MAX_TEXT}字。", field=what)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError:
        raise ApiError(422, "placeholder_invalid", "变量格式不正确：请用 {变量名}，字面的花括号写成 {{ 或 }}。",
                       field=what) from None
    names: list[str] = []
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if spec or conversion or not _NAME.match(field):
            raise ApiError(422, "placeholder_invalid", f"变量 {{{field}}} 格式不正确：请用 {{变量名}}。", field=what)
        if field not in names:
            names.append(field)
    return Template(text, tuple(names))


# A campaign with a business fills each recipient's personal 一点就能办 link in itself.
LINK = "link"


def check_known(templates: dict[str, Template], columns: set[str], extra: frozenset[str] = frozenset()) -> list[str]:
    """The variables all templates use, in order; 422 `unknown_variable` for one the audience lacks
    (`extra`: what the engine fills in itself, such as `link` for a campaign with a business)."""
    known = BUILT_IN | columns | extra
    used: list[str] = []
    for what, template in templates.items():
        for name in template.variables:
            if name not in known:
                raise ApiError(422, "unknown_variable", f"内容中的变量 {{{name}}} 在名单中没有对应的列。",
                               field=what, variable=name)
            if name not in used:
                used.append(name)
    return used
