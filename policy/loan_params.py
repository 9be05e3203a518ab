"""The centre's loan rules (`policy/params/loan.yml`) as typed, checked, frozen values.

The centre edits the file while the service runs, so `current_params()` re-reads it whenever
its modification time changes. A broken file is refused with a message naming the key and the
problem; the service then declines loan calculations rather than compute with half-read rules.
"""
from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.rule_files import parse_file

log = logging.getLogger(__name__)

Home = Literal["first", "second"]
Gender = Literal["male", "female"]
# The rate table switches from the "up to 5 years" column to the "over 5 years" one above this.
SHORT_TERM_YEARS = 5


class LoanParamsError(ValueError):
    """The parameter file is missing, unreadable or breaks a rule; the message names the key."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Percent = Annotated[float, Field(ge=0, le=100)]
Ratio = Annotated[float, Field(gt=0, lt=1)]
Money = Annotated[float, Field(gt=0)]


class RatePair(_Frozen):
    upto_5y: Percent
    over_5y: Percent

    def for_years(self, years: int) -> float:
        return self.upto_5y if years <= SHORT_TERM_YEARS else self.over_5y


class RateEntry(_Frozen):
    effective: date
    source: Annotated[str, Field(min_length=1)]
    first_home: RatePair
    second_home: RatePair

    def percent(self, home: Home, years: int) -> float:
        return (self.first_home if home == "first" else self.second_home).for_years(years)


class Caps(_Frozen):
    source: str = ""
    single: Money
    couple: Money
    multi_child_bonus: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _couple_not_below_single(self) -> Caps:
        if self.couple < self.single:
            raise ValueError("couple 不能小于 single")
        return self


class DownPayment(_Frozen):
    first_home: Annotated[float, Field(ge=0, lt=1)]
    second_home: Annotated[float, Field(ge=0, lt=1)]

    def ratio(self, home: Home) -> float:
        return self.first_home if home == "first" else self.second_home


class RetirementAge(_Frozen):
    male: Annotated[int, Field(ge=40, le=80)]
    female: Annotated[int, Field(ge=40, le=80)]


class InputLimits(_Frozen):
    """Plausible ranges for calculator inputs; beyond them the citizen gets a Chinese hint."""

    max_principal: Money
    max_monthly_wage: Money
    max_house_price: Money
    max_balance: Money
    max_rate_percent: Annotated[float, Field(gt=0, le=100)]
    min_age: Annotated[int, Field(ge=16, le=100)]
    max_age: Annotated[int, Field(ge=16, le=100)]
    max_children: Annotated[int, Field(ge=0, le=50)]

    @model_validator(mode="after")
    def _ages_in_order(self) -> InputLimits:
        if self.min_age >= self.max_age:
            raise ValueError("min_age 必须小于 max_age")
        return self


class LoanParams(_Frozen):
    # Other features may keep their own keys in loan.yml; only the nested sections are strict.
    model_config = ConfigDict(frozen=True, extra="ignore")

    currency: str = "元"
    rates: Annotated[tuple[RateEntry, ...], Field(min_length=1)]
    caps: Caps
    balance_multiple: Money
    balance_floor: Annotated[float, Field(ge=0)]
    repayment_capacity_ratio: Ratio
    down_payment: DownPayment
    min_deposit_months: Annotated[int, Field(ge=0, le=120)]
    max_term_years: Annotated[int, Field(ge=1, le=50)]
    retirement_age: RetirementAge
    years_after_retirement: Annotated[int, Field(ge=0, le=30)]
    limits: InputLimits

    @model_validator(mode="after")
    def _rates_newest_first(self) -> LoanParams:
        dates = [entry.effective for entry in self.rates]
        if dates != sorted(dates, reverse=True) or len(set(dates)) != len(dates):
            raise ValueError("rates 须按生效日期从新到旧排列，且日期不重复")
        for i, entry in enumerate(self.rates):
            for home in ("first_home", "second_home"):
                for column in ("upto_5y", "over_5y"):
                    value = getattr(getattr(entry, home), column)
                    if value > self.limits.max_rate_percent:
                        raise ValueError(
                            f"rates.{i}.{home}.{column} = {value} 超过 limits.max_rate_percent"
                            f"（{self.limits.max_rate_percent}）"
                        )
        return self

    def rate_entry(self, on: date) -> RateEntry:
        """The newest rate in force on `on`: a future-dated entry waits for its day."""
        for entry in self.rates:
            if entry.effective <= on:
                return entry
        raise LoanParamsError(f"rates: {on.isoformat()} 时尚无生效的利率（最早 {self.rates[-1].effective}）")


def parse_params(text: str, source: str = "loan.yml") -> LoanParams:
    return parse_file(text, source, LoanParams, LoanParamsError)


def load_params(path: Path) -> LoanParams:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LoanParamsError(f"{path}: 无法读取: {exc}") from exc
    return parse_params(text, str(path))


class _Reloader:
    """Keeps the last result per (path, mtime, size); a failure is remembered too so that a
    broken file is logged once, not on every request, and is re-read as soon as it changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._result: LoanParams | LoanParamsError | None = None

    def get(self, path: Path) -> LoanParams:
        try:
            stat = path.stat()
            key: tuple = (str(path), stat.st_mtime_ns, stat.st_size)
        except OSError:
            key = (str(path), None, None)
        with self._lock:
            if key != self._key:
                try:
                    self._result = load_params(path)
                    log.info("loan parameters loaded from %s", path)
                except LoanParamsError as exc:
                    log.error("loan parameters refused: %s", exc)
                    self._result = exc
                self._key = key
            result = self._result
        if isinstance(result, LoanParamsError):
            # A fresh exception each time: re-raising the stored one would grow its traceback.
            raise LoanParamsError(str(result))
        assert result is not None
        return result


_reloader = _Reloader()


def current_params(path: Path) -> LoanParams:
    """The rules in `path` (the file this service's settings name), re-read when it changes."""
    return _reloader.get(path)
