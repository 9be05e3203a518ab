"""Requests for a person, and complaints: say honestly whether someone can take over now.

The agent pool comes later; it will turn this action into a real handoff by returning
`ConversationPaused()` when the service says an agent is available.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from .replies import FAILED_TURNS, HOTLINE, agents_message, reply

COMPLAINT_OPENING = "很抱歉给您带来了不好的体验。"
COMPLAINT_CLOSING = f"投诉和建议可以拨打 {HOTLINE} 反映。"


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        message = await agents_message()
        if (tracker.latest_message.get("intent") or {}).get("name") == "complaint":
            closing = "投诉和建议也可以通过这条热线反映。" if HOTLINE in message else COMPLAINT_CLOSING
            message = f"{COMPLAINT_OPENING}{message}{closing}"
        reply(dispatcher, message)
        return [SlotSet(FAILED_TURNS, 0.0)]
