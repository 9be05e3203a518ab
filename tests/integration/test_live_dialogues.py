"""Context that follows the citizen, through the whole live system: a handful of each category of the
scripted conversations in bench/data/dialogues.yml (bench/dialogues.py plays all of them)."""
from __future__ import annotations

import httpx
import pytest

from bench.dialogues import load, play
from tests.credentials import APP_HEADERS

pytestmark = pytest.mark.rasa

CHOSEN = (
    # topic switch: a new subject is answered on its own merits, not as the previous article
    "rent then loan amount",
    "loan rates then weather",
    "retirement then transfer to another city",
    # follow-up: stays on the topic in play; a follow-up naming another business leaves it
    "rent, what to bring",
    "transfer, follow-up then another business",
    "loan amount, then rates",
    # a question inside a form: answered or declined, then 继续计算 / 不算了, and the form goes on
    "weather inside the repayment calculator",
    "rent question inside the loan-amount estimate",
    "finish after a question",
    "stop from the resume offer",
    # leaving a form: "算了" ends it; the next question is answered on its own
    "leave the calculator, then weather",
    "leave, then a fresh calculation starts empty",
    "leave the estimate, then retirement",
)
DIALOGUES = {d["name"]: d for d in load() if d["name"] in CHOSEN}


@pytest.fixture(scope="module")
def client(live_service):
    with httpx.Client(base_url=live_service.base_url, timeout=30, headers=APP_HEADERS) as client:
        yield client


def test_every_chosen_conversation_is_in_the_script():
    assert sorted(DIALOGUES) == sorted(CHOSEN)


@pytest.mark.parametrize("name", CHOSEN)
def test_scripted_conversation(client, name):
    results = play(client, DIALOGUES[name])
    failed = [f"{said} → {text[:120]} ({'; '.join(failures)})" for said, failures, text in results if failures]
    assert not failed, "\n".join(failed)
