"""What every rule file reader shares (loan parameters, checklists, segments): the YAML read into a
mapping, pydantic's complaints in one line, and a reader that renders {parameters} into texts and checks
conditions, each failure naming the file and the key. Each kind of file keeps its own error class."""

from __future__ import annotations

from typing import Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from policy import conditions
from policy.conditions import Compare, ConditionError, Equals, Node
from policy.params import ParamError, render

Model = TypeVar("Model", bound=BaseModel)
Known = TypeVar("Known")


def describe(exc: ValidationError) -> str:
    """Each problem as `key.path: message`; `if_` (a Python keyword's stand-in) is shown as the file's `if`."""
    problems = []
    for error in exc.errors():
        key = ".".join("if" if part == "if_" else str(part) for part in error["loc"]) or "(根)"
        problems.append(f"{key}: {error['msg']}")
    return "; ".join(problems)


def parse_file(text: str, name: str, model: type[Model], error: type[ValueError]) -> Model:
    """One file's text validated as `model`; anything wrong raises `error` naming the file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{name}: 不是合法的 YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"{name}: 顶层须是键值映射")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{name}: {describe(exc)}") from exc


class RuleReader(Generic[Known]):
    """Turns one validated file's texts and conditions into checked values. `Known` is what a condition
    may name (a checklist's questions, a segment's facts); subclasses say how a comparison is checked."""

    error: type[ValueError] = ValueError

    def __init__(self, name: str, params: dict) -> None:
        self.name = name
        self.params = params

    def fail(self, key: str, problem: str) -> ValueError:
        return self.error(f"{self.name}: {key}: {problem}")

    def text(self, key: str, text: str) -> str:
        try:
            return render(text, self.params).strip()
        except ParamError as exc:
            raise self.fail(key, str(exc)) from exc

    def condition(self, key: str, text: str, known: Known) -> Node:
        try:
            node = conditions.parse(self.text(key, text))
        except ConditionError as exc:
            raise self.fail(key, f"条件 {text!r} 有误：{exc}") from exc
        for leaf in conditions.comparisons(node):
            self._check_leaf(key, leaf, known)
        return node

    def _check_leaf(self, key: str, leaf: Compare | Equals, known: Known) -> None:
        raise NotImplementedError
