"""Scripted multi-turn conversations (bench/data/dialogues.yml) played through the app API against the
real Rasa server, action server and service: does the context follow the citizen? Prints the pass
rate by category (topic switch, follow-up, question inside a form, leaving a form), beside the turns.

    python -m bench.dialogues [--base-url http://127.0.0.1:8000] [--show-failures]

Without --base-url it starts the whole system itself on free ports (as bench/latency.py does).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.stats import APP_API_KEY, APP_HEADERS
from server.stack import Stack, free_port

DIALOGUES = Path(__file__).parent / "data" / "dialogues.yml"
CATEGORIES = ("topic_switch", "follow_up", "inside_form", "leave_form")
LABELS = {
    "topic_switch": "topic switch",
    "follow_up": "follow-up",
    "inside_form": "question inside a form",
    "leave_form": "leaving a form",
}


def load(path: Path = DIALOGUES) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["dialogues"])


def _articles(replies: list[dict]) -> set[str]:
    return {s.get("article_id") for r in replies for s in r.get("sources") or []}


def _buttons(replies: list[dict]) -> set[str]:
    return {b.get("title") for r in replies for b in r.get("buttons") or []}


def check_turn(turn: dict[str, Any], replies: list[dict]) -> list[str]:
    """What this turn's replies fail to show; empty when they show everything the script expects."""
    text = "\n".join(r.get("text") or "" for r in replies)
    articles, buttons, failures = _articles(replies), _buttons(replies), []
    if "article" in turn and turn["article"] not in articles:
        failures.append(f"expected article {turn['article']}, got {sorted(articles) or 'none'}")
    if "not_article" in turn and turn["not_article"] in articles:
        failures.append(f"article {turn['not_article']} should not be cited")
    if turn.get("declined") and articles:
        failures.append(f"expected no article, got {sorted(articles)}")
    missing = [b for b in turn.get("buttons", []) if b not in buttons]
    if missing:
        failures.append(f"buttons {missing} missing (offered {sorted(buttons)})")
    failures += [f"text lacks {s!r}" for s in turn.get("says", []) if s not in text]
    if turn.get("says_any") and not any(s in text for s in turn["says_any"]):
        failures.append(f"text has none of {turn['says_any']}")
    failures += [f"text has {s!r}" for s in turn.get("not_says", []) if s in text]
    return failures


def play(client: httpx.Client, dialogue: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    """Plays one conversation as a fresh citizen: (what was said, failures, the replies' text) per turn."""
    user = f"dialogue-{uuid.uuid4().hex[:12]}"
    results = []
    for turn in dialogue["turns"]:
        response = client.post("/api/v1/app/messages", json={"user_id": user, "text": turn["say"]})
        response.raise_for_status()
        replies = response.json()["replies"]
        results.append((turn["say"], check_turn(turn, replies), " / ".join(r.get("text") or "" for r in replies)))
    return results


def report(base_url: str, show_failures: bool) -> dict[str, tuple[int, int]]:
    dialogues = load()
    passed: dict[str, list[bool]] = defaultdict(list)
    turns: dict[str, list[bool]] = defaultdict(list)
    with httpx.Client(base_url=base_url, timeout=30, headers=APP_HEADERS) as client:
        for dialogue in dialogues:
            results = play(client, dialogue)
            category = dialogue["category"]
            passed[category].append(all(not failures for _, failures, _ in results))
            turns[category] += [not failures for _, failures, _ in results]
            if show_failures and not passed[category][-1]:
                print(f"✗ [{category}] {dialogue['name']}")
                for said, failures, text in results:
                    mark = "  " if not failures else "✗ "
                    print(f"    {mark}{said} → {text[:90]!r} {'; '.join(failures)}")
    print(f"\n{'category':<24} {'conversations':>14} {'passed':>8} {'turns passed':>14}")
    figures = {}
    for category in CATEGORIES:
        ok, n = sum(passed[category]), len(passed[category])
        turn_ok, turn_n = sum(turns[category]), len(turns[category])
        figures[category] = (ok, n)
        print(f"{LABELS[category]:<24} {n:>14} {ok / max(n, 1):>8.0%} {f'{turn_ok}/{turn_n}':>14}")
    total_ok = sum(ok for ok, _ in figures.values())
    total = sum(n for _, n in figures.values())
    print(f"{'all':<24} {total:>14} {total_ok / max(total, 1):>8.0%}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", help="a running service (its APP_API_KEY must be the bench's)")
    parser.add_argument("--show-failures", action="store_true", help="print each failed conversation")
    args = parser.parse_args()
    if args.base_url:
        report(args.base_url, args.show_failures)
        return 0
    stack = Stack(
        data_dir=Path(tempfile.mkdtemp(prefix="bench-dialogues-")),
        service_port=free_port(), rasa_port=free_port(), actions_port=free_port(), app_api_key=APP_API_KEY,
    )
    try:
        stack.start()
        report(stack.base_url, args.show_failures)
    except Exception:
        print(stack.tail_logs(), file=sys.stderr)
        raise
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
