"""Answers to policy and procedure questions, from the service's knowledge base."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import service
from .replies import FAILED_TURNS, SERVICE_DOWN, not_understood, reply

TOPIC = "topic"


class ActionAnswer(Action):
    """Ask the knowledge base with the citizen's words, the intent and the article being discussed."""

    def name(self) -> str:
        return "action_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = (tracker.latest_message.get("text") or "").strip()
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        if not question:
            return await not_understood(dispatcher, tracker)
        try:
            result = await service.answer(question, intent, tracker.get_slot(TOPIC))
        except service.ServiceError:
            return await not_understood(dispatcher, tracker, SERVICE_DOWN)

        status, text = result.get("status"), result.get("text")
        if status in ("answer", "clarify") and isinstance(text, str) and text.strip():
            reply(
                dispatcher,
                text,
                buttons=result.get("buttons") or [],
                links=result.get("links") or [],
                sources=result.get("sources") or [],
            )
            events: list[EventType] = [SlotSet(FAILED_TURNS, 0.0)]
            if status == "answer" and result.get("article_id"):
                events.append(SlotSet(TOPIC, result["article_id"]))
            return events
        # "none": the service explains honestly that it has no answer.
        return await not_understood(dispatcher, tracker, text if isinstance(text, str) else None)


class ActionFallback(ActionAnswer):
    """Low NLU confidence: the knowledge base may still know; otherwise count a failed turn."""

    def name(self) -> str:
        return "action_fallback"
