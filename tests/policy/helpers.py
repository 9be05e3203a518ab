"""Walking a checklist the way the bot does: one question at a time, answering from a script."""
from __future__ import annotations

from pathlib import Path

from policy.checklist_rules import Checklist, Checklists, load_checklists
from policy.eligibility import Result, next_step
from tests.conftest import ROOT

CHECKLISTS_DIR = ROOT / "policy" / "checklists"
PARAMS_DIR = ROOT / "policy" / "params"


def shipped(params_dir: Path = PARAMS_DIR) -> Checklists:
    return load_checklists(CHECKLISTS_DIR, params_dir)


def walk(checklist: Checklist, script: dict[str, object]) -> tuple[Result, list[str]]:
    """Answer each question the engine asks from `script`; returns the outcome and the questions asked.

    A question missing from the script fails the test: the check asked something it should not have."""
    answers: dict[str, object] = {}
    asked: list[str] = []
    while True:
        step = next_step(checklist, answers)
        if isinstance(step, Result):
            return step, asked
        assert step.id not in asked, f"{step.id} asked twice"
        assert step.id in script, f"{checklist.case}: unexpected question {step.id} ({step.text}); asked so far {asked}"
        asked.append(step.id)
        answers[step.id] = script[step.id]
