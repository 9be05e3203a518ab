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
from urllib.parse import urlencode

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from . import numbers, service
from .answer import TOPIC
from .asides import asks_about_the_question, is_resume, reads_as_question
from .replies import call_hotline, reply

REQUESTED_SLOT = "requested_slot"
# Intents that are questions in their own right: answered by rules, then the form resumes.
QUESTION_INTENTS = frozenset(
    {
        "ask_withdrawal", "ask_deposit", "ask_account", "ask_loan", "ask_service", "ask_documents",
        "ask_processing_time", "query_progress", "ask_human", "complaint", "bot_challenge",
    }
)
# Intents that are no answer to the form but may still be a question of the citizen's own
# ("明天天气怎么样" inside the calculator): answered or declined by a rule when they read as a question.
ASIDE_INTENTS = frozenset({"out_of_scope", "nlu_fallback"})
# The actions that answer a question asked inside a form; when the form comes back after one of them
# it offers to resume instead of repeating its question as if nothing had happened.
ASIDES = frozenset({"action_answer", "action_fallback", "action_handoff", "utter_iamabot"})
# What each form calls itself in the offer to resume, and its two buttons.
RESUME_OFFERS = {
    "repayment_form": ("月供试算", "继续计算", "不算了"),
    "loan_amount_form": ("可贷额度估算", "继续计算", "不算了"),
    "checklist_form": ("条件自查", "继续自查", "不查了"),
}


def is_aside(tracker: Tracker) -> bool:
    """The message is a question of its own, not an answer the form could not read: the form steps
    aside, a rule answers it, and the form offers to resume."""
    name = (tracker.latest_message.get("intent") or {}).get("name")
    text = tracker.latest_message.get("text") or ""
    if asks_about_the_question(text):
        return False
    return name in QUESTION_INTENTS or (name in ASIDE_INTENTS and reads_as_question(text))


def action_before_form(tracker: Tracker) -> str | None:
    """The last action other than a form's own: what the form comes back after. (Before asking, Rasa adds
    the form's execution to the tracker it sends, so the latest action alone would always be the form.)"""
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") not in RESUME_OFFERS:
            return event.get("name")
    return None


def after_aside(tracker: Tracker) -> bool:
    """The form runs again right after a question inside it was answered (not after the citizen spoke)."""
    return tracker.get_slot(REQUESTED_SLOT) is not None and action_before_form(tracker) in ASIDES


def offer_resume(dispatcher: CollectingDispatcher, form: str | None) -> None:
    """"要继续刚才的…吗？" with 继续 / 不算了 buttons: the form stays where it was, its question waits."""
    name, go_on, stop = RESUME_OFFERS.get(form or "", ("计算", "继续计算", "不算了"))
    reply(
        dispatcher,
        f"刚才的{name}还没做完，要继续吗？",
        buttons=[{"title": go_on, "payload": go_on}, {"title": stop, "payload": stop}],
    )


class AskSlot(Action, ABC):
    """Asks for one form slot with its domain response, or, when the form comes back after a question
    asked inside it, offers to resume first (the response is asked after "继续")."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if after_aside(tracker):
            offer_resume(dispatcher, tracker.active_loop_name)
        else:
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
        return []


def ask_actions(slots: list[str]) -> list[type[AskSlot]]:
    """One ask action per slot (Rasa looks for `action_ask_<slot>` before `utter_ask_<slot>`)."""
    return [type(f"Ask_{slot}", (AskSlot,), {"slot": slot, "__module__": __name__}) for slot in slots]


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
        if after_aside(tracker):
            return []  # back after a question asked inside the form: nothing of the citizen's to read
        if numbers.is_cancel(text):
            # Ends the form (Rasa needs a slot event besides requested_slot, or it rejects the
            # form); the submit action then sees the missing values and confirms the cancellation.
            return [SlotSet(requested, None), SlotSet(REQUESTED_SLOT, None)]

        field = next(f for f in self.fields if f.slot == requested)
        if is_resume(text):
            return [SlotSet(field.slot, None)]  # the form asks its question again
        guesses = self._guesses(tracker, text, skip=field.slot)
        reading = field.read(text)
        if reading is None:
            if guesses:
                return guesses  # answered another question ("等额本息" when asked the years): ask again
            if is_aside(tracker):
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

    def links(self, body: dict[str, Any], result: dict[str, Any]) -> list[dict[str, str]]:
        """Pages the answer points to (the repayment plan, month by month)."""
        return []

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if missing(tracker, self.slots):
            dispatcher.utter_message(response="utter_form_cancelled")
            # Leaves cleanly: the next question is answered on its own, not as a follow-up of the
            # article talked about before the calculation.
            return [*cleared(self.slots), SlotSet(TOPIC, None)]
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
        reply(dispatcher, text, buttons=self.buttons(tracker, result), links=self.links(body, result),
              extra=self.remember(body, result))
        return cleared(self.slots)


def schedule_link(principal: object, years: object, method: object, home: object) -> list[dict[str, str]]:
    """The service's page of the month-by-month plan for these figures (none if a figure is missing)."""
    if not isinstance(principal, (int, float)) or isinstance(principal, bool) or principal <= 0:
        return []
    if not isinstance(years, int) or isinstance(years, bool) or years <= 0:
        return []
    query = {"principal": f"{principal:.0f}", "years": years, "method": method if isinstance(method, str) else
             "equal_installment", "home": home if home in ("first", "second") else "first"}
    return [{"title": "逐月还款计划表", "url": f"/loan/schedule?{urlencode(query)}"}]


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
