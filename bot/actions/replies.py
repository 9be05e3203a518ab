"""Sending replies the service understands, and the honest "I don't know" shared by several actions."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import service
from .profile import hotline

FAILED_TURNS = "failed_turns"
# After this many misunderstood turns in a row the assistant offers a person.
ESCALATE_AFTER = 2


# The texts that name the hotline are made when said: the number is the service's (profile.py).
def call_hotline() -> str:
    return f"拨打住房公积金服务热线 {hotline()} 咨询。"


def not_found() -> str:
    return f"抱歉，这个问题我暂时答不上来，不想给您不准确的信息。您可以换个说法再问，或{call_hotline()}"


def service_down() -> str:
    return f"抱歉，知识库暂时连不上，我现在没法给您准确的答案。请稍后再试，或{call_hotline()}"


def agents_unknown() -> str:
    return f"暂时无法确认人工客服是否在线，您可以{call_hotline()}"


OFFER_PERSON_BUTTONS = ({"title": "转人工", "payload": "转人工"}, {"title": "不用了", "payload": "不用了"})


def reply(
    dispatcher: CollectingDispatcher,
    text: str,
    buttons: Sequence[dict] = (),
    links: Sequence[dict] = (),
    sources: Sequence[dict] = (),
    extra: Mapping[str, Any] | None = None,
) -> None:
    """One message, whatever it carries.

    Sent as custom JSON because Rasa's REST channel would split a plain text on blank lines
    (knowledge answers have paragraphs) and send buttons apart from links and sources.
    `extra` adds keys the service keeps with the stored reply (e.g. `loan_ask`), never shown.
    """
    dispatcher.utter_message(
        json_message={**(extra or {}), "text": text, "buttons": list(buttons), "links": list(links),
                      "sources": list(sources)}
    )


async def agents_message() -> str:
    """What the service says about people being available now, or an honest "cannot tell"."""
    try:
        info = await service.agents()
    except service.ServiceError:
        return agents_unknown()
    message = info.get("message")
    return message if isinstance(message, str) and message.strip() else agents_unknown()


async def not_understood(
    dispatcher: CollectingDispatcher, tracker: Tracker, explanation: str | None = None,
    buttons: Sequence[dict] = (), extra: Mapping[str, Any] | None = None,
) -> list[EventType]:
    """Count a failed turn; say so honestly (with the `buttons` the explanation offers), and from the
    second failure in a row offer a person."""
    failures = int(tracker.get_slot(FAILED_TURNS) or 0) + 1
    if failures >= ESCALATE_AFTER:
        availability = await agents_message()
        reply(dispatcher, f"抱歉，我还是没能帮上您。{availability}", buttons=OFFER_PERSON_BUTTONS, extra=extra)
    else:
        reply(dispatcher, explanation or not_found(), buttons=buttons if explanation else (), extra=extra)
    return [SlotSet(FAILED_TURNS, float(failures))]
