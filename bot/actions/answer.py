"""Answers to policy and procedure questions, from the service's knowledge base."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import service
from .replies import FAILED_TURNS, not_understood, reply, service_down

TOPIC = "topic"
ASK_AGENT_TO_CHECK = {"title": "请人工帮我查", "payload": "转人工"}
CHECK_BUTTON_TITLE = "看看我符不符合条件"
_ASIDE = re.compile(r"（[^）]*）")


async def check_button(article_id: str) -> dict | None:
    """The button that starts the eligibility check for this article's business, where there is one.
    Its payload names the business, so the check knows which one even without the topic slot."""
    try:
        found = await service.checklist_for_article(article_id)
    except service.ServiceError:
        return None
    if not found:
        return None
    return {"title": CHECK_BUTTON_TITLE, "payload": f"看看我符不符合{_ASIDE.sub('', found['title'])}的条件"}


class ActionAnswer(Action):
    """Ask the knowledge base with the citizen's words, the intent and the article being discussed."""

    def name(self) -> str:
        return "action_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = (tracker.latest_message.get("text") or "").strip()
        parsed = tracker.latest_message.get("intent") or {}
        intent, confidence = parsed.get("name") or "", float(parsed.get("confidence") or 0.0)
        if not question:
            return await not_understood(dispatcher, tracker)
        try:
            result = await service.answer(question, intent, tracker.get_slot(TOPIC), confidence)
        except service.ServiceError:
            if intent == "out_of_scope":  # no need for the knowledge base to say no
                dispatcher.utter_message(response="utter_out_of_scope")
                return []
            return await not_understood(dispatcher, tracker, service_down())

        status, text = result.get("status"), result.get("text")
        # A decline after a guess the NLU itself doubted ("asdf 啊啊") is still a misunderstanding.
        understood = ("answer", "clarify") if intent == "nlu_fallback" else ("answer", "clarify", "decline")
        previous = int(tracker.get_slot(FAILED_TURNS) or 0)
        if status == "clarify" and previous >= 1 and isinstance(text, str):
            # Asked back right after a turn that already missed: two misses in a row, so a person is
            # offered (with the hotline), beside the nearest topics.
            return await not_understood(dispatcher, tracker, text, buttons=list(result.get("buttons") or []),
                                        extra=_explanation(result))
        if status in understood and isinstance(text, str) and text.strip():
            buttons = list(result.get("buttons") or [])
            if intent == "query_progress" and status == "answer":
                buttons.append(ASK_AGENT_TO_CHECK)  # only the citizen's own account knows the progress
            if status == "answer" and result.get("article_id"):
                button = await check_button(result["article_id"])
                if button:
                    buttons.append(button)
            reply(
                dispatcher,
                text,
                buttons=buttons,
                links=result.get("links") or [],
                sources=result.get("sources") or [],
                extra=_explanation(result),
            )
            # A question asked back is half a miss: one more vague message and a person is offered.
            events: list[EventType] = [SlotSet(FAILED_TURNS, float(previous + 1) if status == "clarify" else 0.0)]
            if status == "answer" and result.get("article_id"):
                events.append(SlotSet(TOPIC, result["article_id"]))
            return events
        # "decline" (another city or agency, chit-chat) is understood, not a failed turn.
        # "none": the service explains honestly that it has no answer, with the nearest topics, the hotline
        # and a person as buttons, so the citizen is never left at a dead end.
        return await not_understood(dispatcher, tracker, text if isinstance(text, str) else None,
                                    buttons=list(result.get("buttons") or []), extra=_explanation(result))


def _explanation(result: dict) -> dict[str, Any]:
    """Why the knowledge base answered so, kept with the stored reply for the agents' console."""
    explain = result.get("explain")
    return {"explain": explain} if isinstance(explain, dict) and explain else {}


class ActionFallback(ActionAnswer):
    """Low NLU confidence: the knowledge base may still know; otherwise count a failed turn."""

    def name(self) -> str:
        return "action_fallback"
