"""The departments that put bad ratings right (ratings/departments.yml): business departments by the
businesses they own, and the county and district offices whose counter windows citizens rate."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from policy.rule_files import parse_file

FILE = Path(__file__).with_name("departments.yml")
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class DepartmentsError(ValueError):
    """The departments file is wrong; the message names the file and the key."""


class _Department(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    businesses: list[str] = Field(default_factory=list)


class _Office(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=_CODE.pattern)
    name: str = Field(min_length=1, max_length=64)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default: str = Field(min_length=1, max_length=64)
    departments: list[_Department] = Field(min_length=1)
    offices: list[_Office] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> _File:
        names = [d.name for d in self.departments] + [o.name for o in self.offices]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"部门名称重复: {'、'.join(twice)}")
        codes = [o.code for o in self.offices]
        if len(set(codes)) != len(codes):
            raise ValueError("offices: 代码重复")
        if self.default not in names:
            raise ValueError(f"default: {self.default!r} 不在 departments 或 offices 中")
        owners: dict[str, str] = {}
        for department in self.departments:
            for business in department.businesses:
                if business in owners:
                    raise ValueError(
                        f"departments.{department.name}.businesses: {business!r} 已属于 {owners[business]}")
                owners[business] = department.name
        return self


@dataclass(frozen=True)
class Office:
    code: str
    name: str


@dataclass(frozen=True)
class Departments:
    default: str
    business: tuple[str, ...]  # the business departments' names, in the file's order
    offices: tuple[Office, ...]
    owners: dict[str, str]  # business key, prefix ("loan-"), category or skill → department

    @property
    def names(self) -> tuple[str, ...]:
        return self.business + tuple(o.name for o in self.offices)

    def office(self, code: str) -> Office | None:
        return next((o for o in self.offices if o.code == code), None)

    def for_business(self, business: str | None) -> str | None:
        if not business:
            return None
        if business in self.owners:
            return self.owners[business]
        # The longest prefix wins, so "loan-" and a more specific "loan-commercial-" can coexist.
        prefixes = [p for p in self.owners if p.endswith("-") and business.startswith(p)]
        return self.owners[max(prefixes, key=len)] if prefixes else None


def parse(text: str, name: str = FILE.name) -> Departments:
    data = parse_file(text, name, _File, DepartmentsError)
    owners = {business: d.name for d in data.departments for business in d.businesses}
    return Departments(
        default=data.default, business=tuple(d.name for d in data.departments),
        offices=tuple(Office(o.code, o.name) for o in data.offices), owners=owners,
    )


@lru_cache(maxsize=1)
def load() -> Departments:
    return parse(FILE.read_text(encoding="utf-8"))


def department_for(business: str | None, agent_department: str | None) -> str:
    """Who answers for a rating: the rated agent's own department when it is one we know, else the
    department that owns the business, else the default (客服中心)."""
    departments = load()
    if agent_department and agent_department in departments.names:
        return agent_department
    return departments.for_business(business) or departments.default
