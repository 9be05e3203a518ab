"""Monthly repayment calculation (月供试算): principal, years, first/second home, method."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from . import numbers, service
from .forms import (
    Field,
    FormSubmit,
    FormValidator,
    Reading,
    form_slots,
    read_amount,
    read_home,
    schedule_link,
)

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


class ActionCalcRepayment(FormSubmit):
    form = FORM
    slots = SLOTS
    api_fields = API_FIELDS

    def name(self) -> str:
        return "action_calc_repayment"

    def body(self, tracker: Tracker) -> dict[str, Any]:
        return {
            "principal": tracker.get_slot("loan_principal"),
            "years": int(tracker.get_slot("loan_years")),
            "method": tracker.get_slot("repay_method"),
            "home": tracker.get_slot("home_kind"),
        }

    async def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        return await service.repayment(body)

    def remember(self, body: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        # The principal the citizen wants to borrow: outreach compares it with their own maximum.
        principal = body.get("principal")
        return {"loan_ask": {"amount": float(principal)}} if isinstance(principal, (int, float)) else {}

    def links(self, body: dict[str, Any], result: dict[str, Any]) -> list[dict[str, str]]:
        return schedule_link(body.get("principal"), body.get("years"), body.get("method"), body.get("home"))

    def buttons(self, tracker: Tracker, result: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {"title": "换个条件再算", "payload": "帮我算一下月供"},
            {"title": "等额本息和等额本金的区别", "payload": "等额本息和等额本金有什么区别"},
        ]
