"""The calculators' `action_ask_<slot>` actions: each asks with its domain response, or offers to
resume when the form comes back after a question asked inside it (forms.AskSlot)."""
from __future__ import annotations

from . import loan_amount, repayment
from .forms import ask_actions

# home_kind is asked by both forms: one action per slot name.
ASK_ACTIONS = ask_actions(list(dict.fromkeys([*repayment.SLOTS, *loan_amount.SLOTS])))
