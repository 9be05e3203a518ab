"""Injected dependencies of the centre's parameters: the loan rules and the checklists, read from the
files this service's settings name (re-read when the centre edits them)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from core.deps import SettingsDep
from core.errors import ApiError
from core.settings import Settings
from policy import checklist_rules
from policy.checklist_rules import ChecklistError, Checklists
from policy.loan_params import LoanParams, LoanParamsError, current_params


def checklists_for(settings: Settings) -> Checklists:
    return checklist_rules.current(settings.checklists_dir, settings.loan_params_path.parent)


def loan_params_dep(settings: SettingsDep) -> LoanParams:
    try:
        return current_params(settings.loan_params_path)
    except LoanParamsError as exc:
        raise ApiError(503, "loan_params_unavailable", "贷款参数暂时不可用，无法计算，请稍后再试。") from exc


def checklists_dep(settings: SettingsDep) -> Checklists:
    try:
        return checklists_for(settings)
    except ChecklistError as exc:
        # The file and key are in the log; the citizen hears that the check is unavailable for now.
        raise ApiError(
            503, "checklists_unavailable", f"条件自查暂时不可用，请稍后再试或拨打{settings.hotline}咨询。"
        ) from exc


LoanParamsDep = Annotated[LoanParams, Depends(loan_params_dep)]
ChecklistsDep = Annotated[Checklists, Depends(checklists_dep)]
