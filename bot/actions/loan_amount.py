"""Loan-amount estimate (可贷额度估算): the service applies the centre's rules to the citizen's figures."""
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
    yuan,
)

FORM = "loan_amount_form"


def read_both_deposit(text: str) -> Reading | None:
    index = numbers.choice_index(text)
    if index in (1, 2):
        return Reading(index == 1)
    answer = numbers.parse_yes_no(text)
    return None if answer is None else Reading(answer)


def guess_both_deposit(text: str) -> bool | None:
    return True if numbers.mentions_both_spouses(text) else None


class ValidateLoanAmountForm(FormValidator):
    form = FORM
    intro = "utter_loan_amount_intro"
    # Bounds catch misreadings ("8" for a monthly wage); the centre's limits are the service's.
    fields = (
        Field("home_kind", read_home, "utter_invalid_home_kind", numbers.parse_home),
        Field("both_deposit", read_both_deposit, "utter_invalid_yes_no", guess_both_deposit),
        Field("monthly_wage", lambda t: read_amount(t, 100, 1_000_000), "utter_invalid_amount"),
        Field("monthly_deposit_total", lambda t: read_amount(t, 0, 200_000), "utter_invalid_deposit"),
        Field("account_balance", lambda t: read_amount(t, 0, 2e7, none_means_zero=True), "utter_invalid_amount"),
        Field("existing_repayment", lambda t: read_amount(t, 0, 1e6, none_means_zero=True), "utter_invalid_amount"),
        Field("house_price", lambda t: read_amount(t, 10_000, 1e8, wan_if_bare_below=1_000), "utter_invalid_amount"),
    )


SLOTS = form_slots(ValidateLoanAmountForm())
API_FIELDS = {
    "monthly_wage": "monthly_wage",
    "monthly_deposit_total": "monthly_deposit_total",
    "existing_monthly_repayment": "existing_repayment",
    "house_price": "house_price",
    "account_balance": "account_balance",
    "married_both_deposit": "both_deposit",
    "home": "home_kind",
}


class ActionEstimateLoan(FormSubmit):
    form = FORM
    slots = SLOTS
    api_fields = API_FIELDS

    def name(self) -> str:
        return "action_estimate_loan"

    def body(self, tracker: Tracker) -> dict[str, Any]:
        return {field: tracker.get_slot(slot) for field, slot in API_FIELDS.items()}

    async def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        return await service.max_amount(body)

    def remember(self, body: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        # What the house needs (price less the minimum down payment) is what the citizen would borrow.
        limits = result.get("limits")
        needed = limits.get("house_price") if isinstance(limits, dict) else None
        if isinstance(needed, (int, float)) and not isinstance(needed, bool) and needed > 0:
            return {"loan_ask": {"amount": float(needed)}}
        return {}

    def links(self, body: dict[str, Any], result: dict[str, Any]) -> list[dict[str, str]]:
        # The plan of the largest loan itself, month by month (the button computes another amount's).
        return schedule_link(result.get("max_amount"), result.get("years"), "equal_installment", body.get("home"))

    def buttons(self, tracker: Tracker, result: dict[str, Any]) -> list[dict[str, str]]:
        buttons = [{"title": "公积金贷款条件", "payload": "公积金贷款需要什么条件"}]
        amount = result.get("max_amount")
        if isinstance(amount, (int, float)) and amount > 0:
            # This wording is among the calc_repayment training examples; keep the two in step.
            home = "首套房" if tracker.get_slot("home_kind") == "first" else "二套房"
            buttons.insert(0, {"title": "按这个额度算月供", "payload": f"帮我算一下{home}贷款{yuan(amount)}的月供"})
        return buttons
