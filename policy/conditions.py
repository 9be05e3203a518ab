"""The small condition language of the checklist files (`policy/checklists/*.yml`).

Staff write conditions such as

    own_home == yes
    deposit_months < 3
    buyer in [self, spouse] and not (loan == no)
    age + years > 60 + 5

Names on the left are question ids; `yes`, `no`, choice ids and numbers are values. Numbers the
centre chooses arrive through `{{…}}` placeholders, rendered before parsing.

Evaluation is three-valued so that the engine can stop as soon as the outcome is settled: an answer
still to come is UNKNOWN (the comparison is undecided), a question that was skipped has no answer and
every comparison with it is false.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ConditionError(ValueError):
    """A condition that cannot be parsed or names something that does not exist."""


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
# Answers as the evaluator sees them: True/False for yes/no, numbers, choice ids, or UNKNOWN
# (still to be asked). A question absent from the mapping was skipped.
Answers = Mapping[str, object]
Truth = bool | None  # None: not decided yet

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\+|-))")
KEYWORDS = {"and", "or", "not", "in"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
ORDERING = frozenset({"<", "<=", ">", ">="})


@dataclass(frozen=True)
class Sum:
    """Question ids and numbers added or subtracted: `age + years`, `60 + 5`, `deposit_months`."""

    terms: tuple[tuple[int, str | float], ...]  # (+1 | -1, question id or number)

    def names(self) -> list[str]:
        return [term for _, term in self.terms if isinstance(term, str)]

    def value(self, answers: Answers) -> object:
        total = 0.0
        for sign, term in self.terms:
            if isinstance(term, str):
                if term not in answers:
                    return None
                value = answers[term]
                if value is UNKNOWN:
                    return UNKNOWN
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    return None
                total += sign * value
            else:
                total += sign * term
        return total


@dataclass(frozen=True)
class Compare:
    left: Sum
    op: str
    right: Sum

    def evaluate(self, answers: Answers) -> Truth:
        left = self.left.value(answers)
        right = self.right.value(answers)
        if left is UNKNOWN or right is UNKNOWN:
            return None
        if left is None or right is None:
            return False
        return _COMPARE[self.op](left, right)


@dataclass(frozen=True)
class Equals:
    """`question == value`, `question != value` or `question in [a, b]`: value comparisons."""

    name: str
    values: tuple[str | float, ...]
    negated: bool = False

    def evaluate(self, answers: Answers) -> Truth:
        if self.name not in answers:
            return False
        answer = answers[self.name]
        if answer is UNKNOWN:
            return None
        found = any(_same(answer, value) for value in self.values)
        return not found if self.negated else found


@dataclass(frozen=True)
class Not:
    inner: Node

    def evaluate(self, answers: Answers) -> Truth:
        value = self.inner.evaluate(answers)
        return None if value is None else not value


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Node, ...]

    def evaluate(self, answers: Answers) -> Truth:
        values = [part.evaluate(answers) for part in self.parts]
        if False in values:
            return False
        return None if None in values else True


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Node, ...]

    def evaluate(self, answers: Answers) -> Truth:
        values = [part.evaluate(answers) for part in self.parts]
        if True in values:
            return True
        return None if None in values else False


Node = Compare | Equals | Not | AllOf | AnyOf


def _same(answer: object, value: str | float) -> bool:
    if isinstance(answer, bool):
        return value == ("yes" if answer else "no")
    if isinstance(answer, (int, float)):
        return isinstance(value, float) and float(answer) == value
    return answer == value


def names_in(node: Node) -> list[str]:
    if isinstance(node, Compare):
        return node.left.names() + node.right.names()
    if isinstance(node, Equals):
        return [node.name]
    if isinstance(node, Not):
        return names_in(node.inner)
    return [name for part in node.parts for name in names_in(part)]


def comparisons(node: Node) -> list[Compare | Equals]:
    if isinstance(node, (Compare, Equals)):
        return [node]
    if isinstance(node, Not):
        return comparisons(node.inner)
    return [leaf for part in node.parts for leaf in comparisons(part)]


def _tokens(text: str) -> list[str | float]:
    tokens: list[str | float] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ConditionError(f"第{position + 1}个字符附近无法识别：{text[position:position + 10]!r}")
        number, word, symbol = match.groups()
        tokens.append(float(number) if number is not None else (word or symbol))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.position = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise ConditionError("条件为空")
        node = self._or()
        if self.position != len(self.tokens):
            raise ConditionError(f"多余的内容：{self.tokens[self.position]!r}")
        return node

    def _peek(self) -> str | float | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self, what: str = "内容") -> str | float:
        token = self._peek()
        if token is None:
            raise ConditionError(f"条件不完整（缺少{what}）")
        self.position += 1
        return token

    def _take(self, expected: str) -> str | float:
        token = self._next(repr(expected))
        if token != expected:
            raise ConditionError(f"应为 {expected!r}，得到 {token!r}")
        return token

    def _or(self) -> Node:
        parts = [self._and()]
        while self._peek() == "or":
            self._next()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def _and(self) -> Node:
        parts = [self._not()]
        while self._peek() == "and":
            self._next()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def _not(self) -> Node:
        if self._peek() == "not":
            self._next()
            return Not(self._not())
        if self._peek() == "(":
            self._next()
            node = self._or()
            self._take(")")
            return node
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._sum()
        op = self._next("比较符号（== != < <= > >= in）")
        if op == "in":
            return Equals(self._single_name(left, "in"), self._list())
        if op not in _COMPARE:
            raise ConditionError(f"应为比较符号，得到 {op!r}")
        right = self._sum()
        if op in ORDERING:
            return Compare(left, str(op), right)
        # == and != compare a question's answer with one value (yes, no, a choice id or a number).
        name = self._single_name(left, str(op))
        if len(right.terms) != 1 or right.terms[0][0] != 1:
            raise ConditionError(f"{op} 右边须是一个值")
        return Equals(name, (right.terms[0][1],), negated=op == "!=")

    def _single_name(self, left: Sum, op: str) -> str:
        if len(left.terms) != 1 or left.terms[0][0] != 1 or not isinstance(left.terms[0][1], str):
            raise ConditionError(f"{op} 左边须是一个问题 id")
        return left.terms[0][1]

    def _list(self) -> tuple[str | float, ...]:
        self._take("[")
        values = [self._value()]
        while self._peek() == ",":
            self._next()
            values.append(self._value())
        self._take("]")
        return tuple(values)

    def _value(self) -> str | float:
        token = self._next("值")
        if isinstance(token, str) and (token in KEYWORDS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token)):
            raise ConditionError(f"不是合法的值：{token!r}")
        return token

    def _sum(self) -> Sum:
        terms = [(self._sign(), self._value())]
        while self._peek() in ("+", "-"):
            sign = 1 if self._next() == "+" else -1
            terms.append((sign, self._value()))
        return Sum(tuple(terms))

    def _sign(self) -> int:
        if self._peek() == "-":
            self._next()
            return -1
        return 1


def parse(text: str) -> Node:
    """The condition as a tree; `ConditionError` says what is wrong and where."""
    return _Parser(text).parse()
