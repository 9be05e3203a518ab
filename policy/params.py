"""The centre's parameter files (`policy/params/*.yml`) and the `{{…}}` placeholders articles use.

Articles never type a number the centre chooses; they write `{{loan.caps.single|wan}}` and the
value is filled in at indexing time, so editing a parameter file updates every answer.
"""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import yaml

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*(?:\|\s*([a-z]+)\s*)?\}\}")


class ParamError(ValueError):
    pass


def load_params(params_dir: Path) -> dict:
    """All parameter files keyed by file stem (loan.yml → "loan"), with `loan.rates.current` aliased."""
    params: dict = {}
    for path in sorted(params_dir.glob("*.yml")):
        params[path.stem] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rates = params.get("loan", {}).get("rates")
    if isinstance(rates, list) and rates:
        params["loan"]["rates"] = {"current": rates[0], "history": rates}
    return params


def lookup(params: dict, dotted: str) -> object:
    node: object = params
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ParamError(f"参数 {dotted} 不存在（缺少 {part}）")
    return node


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def format_value(value: object, fmt: str | None) -> str:
    if fmt is None:
        return str(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ParamError(f"过滤器 {fmt} 需要数值，得到 {value!r}")
    number = Decimal(str(value))
    if fmt == "wan":
        return f"{_plain(number / 10000)}万元"
    if fmt == "pct":
        return f"{_plain(number * 100)}%"
    if fmt == "yuan":
        return f"{_plain(number)}元"
    raise ParamError(f"未知的过滤器 {fmt}")


def render(text: str, params: dict) -> str:
    return PLACEHOLDER.sub(lambda m: format_value(lookup(params, m.group(1)), m.group(2)), text)
