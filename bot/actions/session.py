"""A new session: the centre's profile into slots, so the domain's responses say the hotline and the
centre's name as the service is configured ({hotline}, {centre_name}) instead of typing them."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import profile


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        centre = await profile.CACHE.refresh()
        # What Rasa's own session start does with carry_over_slots_to_new_session (domain.yml): the
        # previous session's slots go on; the profile's are set afresh.
        carried = [
            SlotSet(name, value) for name, value in tracker.current_slot_values().items()
            if value is not None and name not in profile.SLOTS
        ]
        fresh = [SlotSet(name, getattr(centre, name)) for name in profile.SLOTS]
        return [SessionStarted(), *carried, *fresh, ActionExecuted("action_listen")]
