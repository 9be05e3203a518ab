"""Monthly repayment calculation (月供试算): principal, years, first/second home, method."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from . import numbers, service
from .forms import (
    Field,
    FormValidator,
    Reading,
    cleared,
    form_slots,
    missing,
    read_amount,
    read_home,
    slots_to_ask_again,
)
from .replies import HOTLINE, reply

FORM = "repayment_form"
METHOD_NAMES = {"equal_installment": "等额本息", "equal_principal": "等额本金"}
# Sanity bounds only; the service applies the centre's own limits and explains them (HTTP 422).
MIN_PRINCIPAL, MAX_PRINCIPAL = 1_000, 100_000_000
MAX_YEARS = 50


def read_principal(text: str) -> Reading | None:
    return read_amount(text, MIN_PRINCIPAL, MAX_PRINCIPAL, wan_if_bare_below=1_000)


def guess_principal(text: str) -> float | None:
    value = numbers.parse_amount(text)
    if value is None or not numbers.has_money_unit(text) or not MIN_PRINCIPAL <= value <= MAX_PRINCIPAL:
        return None
    return float(value)


def read_years(text: str) -> Reading | None:
    years = numbers.parse_years(text)
    return Reading(float(years)) if years is not None and 1 <= years <= MAX_YEARS else None


def guess_years(text: str) -> float | None:
    if "年" not in text and "个月" not in text:
        return None
    reading = read_years(text)
    return reading.value if reading else None


def read_method(text: str) -> Reading | None:
    index = numbers.choice_index(text)
    if index in (1, 2):
        return Reading("equal_installment" if index == 1 else "equal_principal")
    method = numbers.parse_method(text)
    if method:
        return Reading(method)
    if numbers.is_indifferent(text):
        return Reading("equal_installment", "那我先按等额本息算，它每月还款额固定，最常见。")
    return None


class ValidateRepaymentForm(FormValidator):
    form = FORM
    intro = "utter_repayment_intro"
    fields = (
        Field("loan_principal", read_principal, "utter_invalid_amount", guess_principal),
        Field("loan_years", read_years, "utter_invalid_years", guess_years),
        Field("home_kind", read_home, "utter_invalid_home_kind", numbers.parse_home),
        Field("repay_method", read_method, "utter_invalid_repay_method", numbers.parse_method),
    )


SLOTS = form_slots(ValidateRepaymentForm())
# Request fields of the calculator API and the slots they come from (to ask again after a 422).
API_FIELDS = {"principal": "loan_principal", "years": "loan_years", "method": "repay_method", "home": "home_kind"}


class ActionCalcRepayment(Action):
    def name(self) -> str:
        return "action_calc_repayment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if missing(tracker, SLOTS):
            dispatcher.utter_message(response="utter_form_cancelled")
            return cleared(SLOTS)
        body = {
            "principal": tracker.get_slot("loan_principal"),
            "years": int(tracker.get_slot("loan_years")),
            "method": tracker.get_slot("repay_method"),
            "home": tracker.get_slot("home_kind"),
        }
        try:
            result = await service.repayment(body)
        except service.Rejected as exc:
            reply(dispatcher, f"{exc.message}请重新告诉我。")
            return [*cleared(slots_to_ask_again(exc, API_FIELDS)), FollowupAction(FORM)]
        except service.ServiceError:
            reply(dispatcher, f"抱歉，计算服务暂时不可用，请稍后再试，或拨打住房公积金服务热线 {HOTLINE} 咨询。")
            return cleared(SLOTS)
        text = result.get("text") or "计算完成，但没有拿到结果说明，请稍后再试。"
        reply(
            dispatcher,
            text,
            buttons=[
                {"title": "换个条件再算", "payload": "帮我算一下月供"},
                {"title": "等额本息和等额本金的区别", "payload": "等额本息和等额本金有什么区别"},
            ],
        )
        return cleared(SLOTS)

