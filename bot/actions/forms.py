"""What the two calculator forms share: reading answers from the citizen's own words.

Slots use custom mappings, so every message during a form reaches the validator, which reads the
requested value with `numbers`, notes anything else the message already says ("30万，20年"),
lets questions through to the knowledge base, and ends the form when the citizen says "算了".
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import numbers, service
from .replies import call_hotline, reply

REQUESTED_SLOT = "requested_slot"
# Intents that are questions in their own right: answered by rules, then the form resumes.
QUESTION_INTENTS = frozenset(
    {
        "ask_withdrawal", "ask_deposit", "ask_account", "ask_loan", "ask_service", "ask_documents",
        "ask_processing_time", "query_progress", "ask_human", "complaint", "bot_challenge",
    }
)


@dataclass(frozen=True)
class Reading:
    """A value read from the citizen's answer, with a remark to show when we interpreted it."""

    value: Any
    note: str | None = None


@dataclass(frozen=True)
class Field:
    slot: str
    read: Callable[[str], Reading | None]
    invalid: str  # response explaining what is expected, sent before the question is asked again
    # Reads the value from a message that answers something else; only unambiguous wordings.
    guess: Callable[[str], Any] | None = None


class FormValidator(Action, ABC):
    @property
    @abstractmethod
    def form(self) -> str: ...

    @property
    @abstractmethod
    def intro(self) -> str:
        """Response said once when the form starts."""

    @property
    @abstractmethod
    def fields(self) -> tuple[Field, ...]: ...

    def name(self) -> str:
        return f"validate_{self.form}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested is None:
            # The form is starting (or restarting to ask again after the service refused a value).
            if all(tracker.get_slot(f.slot) is None for f in self.fields):
                dispatcher.utter_message(response=self.intro)
            return self._guesses(tracker, text, skip=None)
        if numbers.is_cancel(text):
            # Ends the form (Rasa needs a slot event besides requested_slot, or it rejects the
            # form); the submit action then sees the missing values and confirms the cancellation.
            return [SlotSet(requested, None), SlotSet(REQUESTED_SLOT, None)]

        field = next(f for f in self.fields if f.slot == requested)
        guesses = self._guesses(tracker, text, skip=field.slot)
        reading = field.read(text)
        if reading is None:
            if guesses:
                return guesses  # answered another question ("等额本息" when asked the years): ask again
            intent = tracker.latest_message.get("intent") or {}
            if intent.get("name") in QUESTION_INTENTS:
                return []  # no value: the form is rejected and the question answered by a rule
            dispatcher.utter_message(response=field.invalid)
            return [SlotSet(field.slot, None)]
        if reading.note:
            dispatcher.utter_message(text=reading.note)
        return [SlotSet(field.slot, reading.value), *guesses]

    def _guesses(self, tracker: Tracker, text: str, skip: str | None) -> list[EventType]:
        events: list[EventType] = []
        for field in self.fields:
            if field.slot == skip or field.guess is None or tracker.get_slot(field.slot) is not None:
                continue
            value = field.guess(text)
            if value is not None:
                events.append(SlotSet(field.slot, value))
        return events


def form_slots(validator: FormValidator) -> list[str]:
    return [f.slot for f in validator.fields]


def missing(tracker: Tracker, slots: list[str]) -> bool:
    return any(tracker.get_slot(slot) is None for slot in slots)


def cleared(slots: list[str]) -> list[EventType]:
    return [SlotSet(slot, None) for slot in slots]


def slots_to_ask_again(exc: service.Rejected, api_fields: dict[str, str]) -> list[str]:
    """The slots behind the refused fields, found in the error body; all of them when unclear."""
    errors = exc.body.get("errors")
    fields = [str(e.get("field", "")) for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    named = " ".join([exc.code, str(exc.body.get("field", "")), *fields])
    slots = [slot for field, slot in api_fields.items() if field in named]
    return slots or list(api_fields.values())


class FormSubmit(Action, ABC):
    """Sends a finished calculator form to the service and shows the explanation it returns.

    A value the service refuses (HTTP 422, e.g. a term beyond the centre's limit) is asked again with
    the service's reason; the service being down ends the form with the hotline, never a silent stop.
    """

    form: str
    slots: list[str]
    api_fields: dict[str, str]  # request field -> slot it comes from, to ask again after a 422

    @abstractmethod
    def body(self, tracker: Tracker) -> dict[str, Any]: ...

    @abstractmethod
    async def submit(self, body: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def buttons(self, tracker: Tracker, result: dict[str, Any]) -> list[dict[str, str]]: ...

    def remember(self, body: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        """Keys the service keeps with the reply (not shown): what the citizen asked about."""
        return {}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if missing(tracker, self.slots):
            dispatcher.utter_message(response="utter_form_cancelled")
            return cleared(self.slots)
        body = self.body(tracker)
        try:
            result = await self.submit(body)
        except service.Rejected as exc:
            reply(dispatcher, f"{exc.message}请重新告诉我。")
            return [*cleared(slots_to_ask_again(exc, self.api_fields)), FollowupAction(self.form)]
        except service.ServiceError:
            reply(dispatcher, f"抱歉，计算服务暂时不可用，请稍后再试，或{call_hotline()}")
            return cleared(self.slots)
        text = result.get("text") or "计算完成，但没有拿到结果说明，请稍后再试。"
        reply(dispatcher, text, buttons=self.buttons(tracker, result), extra=self.remember(body, result))
        return cleared(self.slots)


# Readers shared by both forms.


def read_amount(
    text: str, low: float, high: float, *, wan_if_bare_below: float | None = None, none_means_zero: bool = False
) -> Reading | None:
    """An amount in yuan within [low, high].

    A bare small number for a loan or a house ("30") almost always means 万 yuan; we say so.
    "没有" counts as 0 where that is a sensible answer (other loans, balance).
    """
    value = numbers.parse_amount(text)
    if value is None:
        if none_means_zero and numbers.parse_yes_no(text) is False:
            return Reading(0.0)
        return None
    note = None
    if wan_if_bare_below is not None and 0 < value < wan_if_bare_below and not numbers.has_money_unit(text):
        value *= 10_000
        note = f"好的，按{yuan(value)}计算。"
    if not low <= value <= high:
        return None
    return Reading(float(value), note)


def read_home(text: str) -> Reading | None:
    index = numbers.choice_index(text)
    if index in (1, 2):
        return Reading("first" if index == 1 else "second")
    home = numbers.parse_home(text)
    return Reading(home) if home else None


def yuan(value: float) -> str:
    """30万元, 3.5万元, 8,000元: how amounts are shown back to citizens."""
    if value >= 10_000 and value % 1_000 == 0:
        return f"{value / 10_000:g}万元"
    return f"{value:,.0f}元"
