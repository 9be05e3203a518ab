"""The centre's eligibility and document checklists (`policy/checklists/<case>.yml`), read and checked.

The format is described at the top of `policy/checklists/rent.yml` and in the README. Every file
is checked whole when it is read: the shape of each entry, the `{{…}}` parameters it uses, and every
condition against the questions it names. A problem is reported as `<file>: <key>: <problem>`, so
staff know exactly what to fix. The centre edits the files while the service runs; `current()` re-reads
them (and the parameter files their placeholders use) whenever one changes.

    python -m policy.checklist_rules     # check every file, print the cases
"""
from __future__ import annotations

import logging
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from policy import conditions
from policy.conditions import Compare, Equals, Node
from policy.params import load_params
from policy.rule_files import RuleReader, parse_file

log = logging.getLogger(__name__)

QuestionType = Literal["yes_no", "choice", "number"]
RuleOutcome = Literal["not_eligible", "review"]
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CASE = re.compile(r"[a-z][a-z0-9-]*")
_RESERVED = conditions.KEYWORDS | {"yes", "no"}


class ChecklistError(ValueError):
    """A checklist file that cannot be used; the message names the file and the key."""


# The files' shapes. Strict: a misspelt key ("ask-if") is an error, not a silently ignored line.


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = Annotated[str, Field(min_length=1)]


class _Choice(_Strict):
    id: Text
    text: Text


class _Question(_Strict):
    id: Text
    text: Text
    type: QuestionType
    choices: list[_Choice] | None = None
    min: float | None = None
    max: float | None = None
    unit: str = ""
    ask_if: Text | None = None


class _Rule(_Strict):
    if_: Text | None = Field(None, alias="if")
    outcome: RuleOutcome
    reason: Text


class _Item(_Strict):
    text: Text
    if_: Text | None = Field(None, alias="if")


class _File(_Strict):
    title: Text
    articles: Annotated[list[Text], Field(min_length=1)]
    keywords: list[Text] = []
    business: str | None = None
    source: Text
    questions: Annotated[list[_Question], Field(min_length=1)]
    rules: list[_Rule] = []
    documents: list[Text | _Item] = []
    warnings: list[Text | _Item] = []


# What the engine works with.


@dataclass(frozen=True)
class Choice:
    id: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: QuestionType
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    unit: str = ""
    ask_if: Node | None = None

    def choice_ids(self) -> tuple[str, ...]:
        return tuple(choice.id for choice in self.choices)


@dataclass(frozen=True)
class Rule:
    when: Node | None
    outcome: RuleOutcome
    reason: str


@dataclass(frozen=True)
class Item:
    """A document to bring or a warning, shown when `when` holds (always when it is None)."""

    text: str
    when: Node | None = None


@dataclass(frozen=True)
class Checklist:
    case: str
    title: str
    articles: tuple[str, ...]
    keywords: tuple[str, ...]
    business_link: dict | None  # {"title", "url"}, as knowledge answers carry it
    source: str
    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]
    documents: tuple[Item, ...]
    warnings: tuple[Item, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


@dataclass(frozen=True)
class Checklists:
    cases: dict[str, Checklist]
    by_article: dict[str, str]

    def match(self, text: str) -> list[str]:
        """The cases whose words the text uses, best first; several when they tie ("买房": new or resale).

        A case scores the length of the longest of its keywords found in the text, so "商业贷款"
        (repaying a bank loan) beats "贷款" (applying for a loan)."""
        scores = {}
        for case, checklist in self.cases.items():
            found = [len(word) for word in checklist.keywords if word in text]
            if found:
                scores[case] = max(found)
        if not scores:
            return []
        best = max(scores.values())
        return [case for case, score in scores.items() if score == best]


# Reading one file.


class _Reader(RuleReader[dict[str, Question]]):
    """Turns one validated file into a `Checklist`, raising `ChecklistError` with file and key."""

    error = ChecklistError

    def __init__(self, name: str, params: dict) -> None:
        super().__init__(name, params)
        self.questions: dict[str, Question] = {}

    def _check_leaf(self, key: str, leaf: Compare | Equals, known: dict[str, Question]) -> None:
        for name in conditions.names_in(leaf):
            if name not in known:
                where = "前面的问题" if known is not self.questions else "问题"
                raise self.fail(key, f"{name} 不是{where} id")
        if isinstance(leaf, Compare):
            for name in conditions.names_in(leaf):
                if known[name].type != "number":
                    raise self.fail(key, f"{name} 不是数字题，不能用 {leaf.op} 比较")
            return
        question = known[leaf.name]
        for value in leaf.values:
            allowed: tuple = {"yes_no": ("yes", "no"), "choice": question.choice_ids()}.get(question.type, ())
            if question.type == "number" and not isinstance(value, float):
                raise self.fail(key, f"{leaf.name} 是数字题，{value!r} 不是数字")
            if question.type != "number" and value not in allowed:
                raise self.fail(key, f"{leaf.name} 的答案只能是 {', '.join(allowed)}，没有 {value!r}")

    def question(self, index: int, raw: _Question) -> Question:
        key = f"questions.{index}"
        if not _NAME.fullmatch(raw.id) or raw.id in _RESERVED:
            raise self.fail(f"{key}.id", f"{raw.id!r} 须由小写字母、数字和下划线组成，且不是 yes/no/and/or/not/in")
        if raw.id in self.questions:
            raise self.fail(f"{key}.id", f"问题 id {raw.id} 重复")
        choices: tuple[Choice, ...] = ()
        if raw.type == "choice":
            if not raw.choices or len(raw.choices) < 2:
                raise self.fail(f"{key}.choices", "选择题至少要有两个选项")
            ids = [choice.id for choice in raw.choices]
            bad = [i for i in ids if not _NAME.fullmatch(i) or i in _RESERVED]
            if bad or len(set(ids)) != len(ids):
                raise self.fail(f"{key}.choices", f"选项 id 须是小写字母、数字和下划线且不重复：{', '.join(ids)}")
            choices = tuple(
                Choice(c.id, self.text(f"{key}.choices.{i}.text", c.text)) for i, c in enumerate(raw.choices)
            )
        elif raw.choices:
            raise self.fail(f"{key}.choices", "只有选择题（type: choice）才有选项")
        if raw.type == "number":
            if raw.min is None or raw.max is None or raw.min >= raw.max:
                raise self.fail(key, "数字题须给出 min 和 max，且 min 小于 max")
        elif raw.min is not None or raw.max is not None:
            raise self.fail(key, "只有数字题（type: number）才有 min 和 max")
        # ask_if may only look back: a question is asked or skipped from the answers before it.
        ask_if = self.condition(f"{key}.ask_if", raw.ask_if, dict(self.questions)) if raw.ask_if else None
        question = Question(
            raw.id, self.text(f"{key}.text", raw.text), raw.type, choices, raw.min, raw.max, raw.unit, ask_if
        )
        self.questions[raw.id] = question
        return question

    def items(self, section: str, raw: list[str | _Item]) -> tuple[Item, ...]:
        items = []
        for index, entry in enumerate(raw):
            key = f"{section}.{index}"
            if isinstance(entry, str):
                items.append(Item(self.text(key, entry)))
            else:
                when = self.condition(f"{key}.if", entry.if_, self.questions) if entry.if_ else None
                items.append(Item(self.text(f"{key}.text", entry.text), when))
        return tuple(items)


def _business_link(reader: _Reader, key: str | None) -> dict | None:
    if not key:
        return None
    link = reader.params.get("business", {}).get(key)
    if not isinstance(link, dict) or "url" not in link or "name" not in link:
        raise reader.fail("business", f"{key} 不在 params/business.yml 里")
    return {"title": str(link["name"]), "url": str(link["url"])}


def parse_checklist(text: str, name: str, params: dict) -> Checklist:
    """One file's text as a `Checklist`; `name` is the file name, whose stem is the case id."""
    case = Path(name).stem
    if not _CASE.fullmatch(case):
        raise ChecklistError(f"{name}: 文件名须由小写字母、数字和连字符组成")
    raw = parse_file(text, name, _File, ChecklistError)
    reader = _Reader(name, params)
    questions = tuple(reader.question(i, q) for i, q in enumerate(raw.questions))
    rules = tuple(
        Rule(reader.condition(f"rules.{i}.if", r.if_, reader.questions) if r.if_ else None, r.outcome,
             reader.text(f"rules.{i}.reason", r.reason))
        for i, r in enumerate(raw.rules)
    )
    documents = reader.items("documents", raw.documents)
    warnings = reader.items("warnings", raw.warnings)
    used = {name for node in _conditions(questions, rules, documents + warnings) for name in conditions.names_in(node)}
    for index, question in enumerate(questions):
        if question.id not in used:
            # A question nothing depends on would only lengthen the check.
            raise reader.fail(f"questions.{index}", f"问题 {question.id} 没有被任何条件用到，请删去或补上用到它的规则")
    return Checklist(
        case=case,
        title=reader.text("title", raw.title),
        articles=tuple(raw.articles),
        keywords=tuple(raw.keywords),
        business_link=_business_link(reader, raw.business),
        source=reader.text("source", raw.source),
        questions=questions,
        rules=rules,
        documents=documents,
        warnings=warnings,
    )


def _conditions(questions: tuple[Question, ...], rules: tuple[Rule, ...], items: tuple[Item, ...]) -> list[Node]:
    nodes = [q.ask_if for q in questions] + [r.when for r in rules] + [i.when for i in items]
    return [node for node in nodes if node is not None]


def load_checklists(directory: Path, params_dir: Path) -> Checklists:
    """Every `*.yml` under `directory`; an article belongs to at most one checklist."""
    try:
        params = load_params(params_dir)
    except (OSError, yaml.YAMLError) as exc:
        raise ChecklistError(f"{params_dir}: 参数文件无法读取: {exc}") from exc
    paths = sorted(directory.glob("*.yml"))
    if not paths:
        raise ChecklistError(f"{directory}: 没有清单文件（*.yml）")
    cases: dict[str, Checklist] = {}
    by_article: dict[str, str] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ChecklistError(f"{path.name}: 无法读取: {exc}") from exc
        checklist = parse_checklist(text, path.name, params)
        for article in checklist.articles:
            if article in by_article:
                raise ChecklistError(f"{path.name}: articles: {article} 已属于 {by_article[article]}.yml")
            by_article[article] = checklist.case
        cases[checklist.case] = checklist
    return Checklists(cases, by_article)


class _Reloader:
    """Re-reads when any checklist or parameter file changes (name, mtime or size); a failure is kept
    too, so a broken file is logged once and the checklists answer "unavailable" until it is fixed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._result: Checklists | ChecklistError | None = None

    @staticmethod
    def _fingerprint(*directories: Path) -> tuple[tuple[str, int | None, int | None], ...]:
        entries: list[tuple[str, int | None, int | None]] = []
        for directory in directories:
            for path in sorted(directory.glob("*.yml")):
                try:
                    stat = path.stat()
                    entries.append((str(path), stat.st_mtime_ns, stat.st_size))
                except OSError:
                    entries.append((str(path), None, None))
        return tuple(entries)

    def get(self, directory: Path, params_dir: Path) -> Checklists:
        key = self._fingerprint(directory, params_dir)
        with self._lock:
            if key != self._key:
                try:
                    self._result = load_checklists(directory, params_dir)
                    log.info("checklists loaded from %s: %d cases", directory, len(self._result.cases))
                except ChecklistError as exc:
                    log.error("checklists refused: %s", exc)
                    self._result = exc
                self._key = key
            result = self._result
        if isinstance(result, ChecklistError):
            raise ChecklistError(str(result))
        assert result is not None
        return result


_reloader = _Reloader()


def current(directory: Path, params_dir: Path) -> Checklists:
    return _reloader.get(directory, params_dir)


def main() -> int:
    from core.settings import get_settings

    settings = get_settings()
    try:
        found = load_checklists(settings.checklists_dir, settings.loan_params_path.parent)
    except ChecklistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for checklist in found.cases.values():
        print(f"{checklist.case}: {checklist.title}（{len(checklist.questions)} 个问题）")
    print(f"{len(found.cases)} checklists OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
