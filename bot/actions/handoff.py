"""Requests for a person and complaints: hand the conversation to the agents' pool.

The service decides (`POST /api/v1/handoff`): with an agent on duty the conversation is queued and the
bot pauses (`ConversationPaused`) until the agent hands it back; with nobody on duty the citizen's
question becomes a callback ticket and the bot keeps serving. Either way the citizen hears what
happens next: their place in the queue and the wait, or when to expect contact.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import service
from .complaints import asks_how_to_complain
from .profile import hotline
from .replies import ESCALATE_AFTER, FAILED_TURNS, agents_unknown, reply

COMPLAINT_OPENING = "很抱歉给您带来了不好的体验。"
OFFER_PERSON = ({"title": "还是转人工", "payload": "转人工"}, {"title": "不用了", "payload": "不用了"})
LEAVE_MESSAGE_BUTTON = {"title": "不等了，留言", "payload": "留言"}
WITH_AGENTS = ("queued", "already_waiting", "already_with_agent")
# Questions only the citizen's own account can answer: an agent looks them up.
ACCOUNT_INTENTS = frozenset({"query_progress"})
# Intents that say nothing about what the citizen needs help with.
NOT_A_TOPIC = frozenset({
    "ask_human", "complaint", "affirm", "deny", "greet", "goodbye", "thanks", "bot_challenge", "nlu_fallback",
    "inform", "out_of_scope",
})


def _user_intents(tracker: Tracker) -> list[str]:
    """Intents of the citizen's messages, newest first."""
    names = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            names.append(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")
    return names


def _failures_before_this_message(tracker: Tracker) -> int:
    """`failed_turns` as it stood when the citizen answered (the answer itself resets it)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return 0
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == FAILED_TURNS:
            return int(event.get("value") or 0)
    return 0


def handoff_reason(tracker: Tracker) -> str:
    intents = _user_intents(tracker)
    if intents and intents[0] == "complaint":
        return "complaint"
    if _failures_before_this_message(tracker) >= ESCALATE_AFTER:
        return "failed_understanding"  # the citizen accepted the offer made after two misunderstandings
    if len(intents) > 1 and intents[1] in ACCOUNT_INTENTS:
        return "account_specific"
    return "citizen_request"


def topic_intent(tracker: Tracker) -> str | None:
    """What the citizen needed help with: the latest intent that names a subject."""
    return next((name for name in _user_intents(tracker) if name and name not in NOT_A_TOPIC), None)


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reason = handoff_reason(tracker)
        text = (tracker.latest_message.get("text") or "").strip()
        if reason == "complaint" and asks_how_to_complain(text) and await _answered_how(dispatcher, text):
            return [SlotSet(FAILED_TURNS, 0.0)]
        slots = {k: v for k, v in tracker.current_slot_values().items() if v is not None}
        body = {"conversation_id": tracker.sender_id, "reason": reason, "intent": topic_intent(tracker),
                "slots": slots, "contact": None}
        opening = COMPLAINT_OPENING if reason == "complaint" else ""
        try:
            result = await service.handoff(body)
        except service.Refused as refused:
            reply(dispatcher, opening + refused.message)
            return [SlotSet(FAILED_TURNS, 0.0)]
        except service.ServiceError:
            closing = f"投诉和建议也可以拨打 {hotline()} 反映。" if reason == "complaint" else ""
            reply(dispatcher, opening + agents_unknown() + closing)
            return [SlotSet(FAILED_TURNS, 0.0)]
        message = str(result.get("message") or agents_unknown())
        if result.get("outcome") in WITH_AGENTS:
            buttons = [LEAVE_MESSAGE_BUTTON] if result.get("outcome") != "already_with_agent" else []
            reply(dispatcher, opening + message, buttons=buttons)
            # No bot turn until the agent hands the conversation back (the service resumes Rasa).
            return [SlotSet(FAILED_TURNS, 0.0), ConversationPaused()]
        reply(dispatcher, opening + message)
        return [SlotSet(FAILED_TURNS, 0.0)]


async def _answered_how(dispatcher: CollectingDispatcher, text: str) -> bool:
    """The knowledge base's answer on how to complain, with a person offered; False when it has none, so
    that the citizen is handed to a person as before."""
    try:
        result = await service.answer(text, "ask_service", None, 0.0)
    except service.ServiceError:
        return False
    if result.get("status") != "answer" or not str(result.get("text") or "").strip():
        return False
    explain = result.get("explain")
    reply(dispatcher, str(result["text"]) + "\n\n如果需要，我也可以为您转人工客服。", buttons=OFFER_PERSON,
          links=result.get("links") or [], sources=result.get("sources") or [],
          extra={"explain": explain} if isinstance(explain, dict) else None)
    return True
