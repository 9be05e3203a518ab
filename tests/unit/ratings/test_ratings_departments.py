"""Departments that put bad ratings right: the agent's own department first, else the business's owner
(key, key prefix, article category or skill), else 客服中心; a wrong file is named with its key."""
from __future__ import annotations

import pytest

from ratings.departments import DepartmentsError, department_for, load, parse


def test_the_agents_department_comes_first() -> None:
    assert department_for("loan-apply", "邯山区管理部") == "邯山区管理部"
    assert department_for("loan-apply", "提取科") == "提取科"


def test_else_the_business_decides() -> None:
    assert department_for("loan-apply", None) == "贷款科"
    assert department_for("withdraw-rent", "no such department") == "提取科"
    assert department_for("提取", None) == "提取科"  # an article category
    assert department_for("account-transfer-intercity", None) == "归集科"
    assert department_for("service-complaints", None) == "客服中心"


def test_else_the_default() -> None:
    assert department_for(None, None) == "客服中心"
    assert department_for("something-new", "") == "客服中心"


def test_twenty_offices_with_codes() -> None:
    departments = load()
    assert len(departments.offices) == 20
    assert departments.office("hanshan") is not None and departments.office("nowhere") is None
    assert len(set(departments.names)) == len(departments.names)


def test_every_knowledge_business_has_an_owner() -> None:
    from pathlib import Path

    import yaml

    articles = Path(__file__).resolve().parents[3] / "knowledge" / "articles"
    for article in articles.glob("*.md"):
        front = yaml.safe_load(article.read_text(encoding="utf-8").split("---")[1])
        if front.get("business"):
            assert load().for_business(front["business"]) is not None, article.name


def test_the_longest_prefix_wins() -> None:
    departments = parse("default: A\ndepartments:\n  - {name: A, businesses: [loan-]}\n"
                        "  - {name: B, businesses: [loan-commercial-]}\n")
    assert departments.for_business("loan-commercial-to-hpf") == "B"
    assert departments.for_business("loan-apply") == "A"


@pytest.mark.parametrize(("text", "message"), [
    ("default: X\ndepartments: [{name: A}]", "default"),
    ("default: A\ndepartments: [{name: A}, {name: A}]", "部门名称重复"),
    ("default: A\ndepartments: [{name: A, businesses: [x]}, {name: B, businesses: [x]}]", "已属于 A"),
    ("default: A\ndepartments: [{name: A}]\noffices: [{code: 'Bad Code', name: O}]", "offices.0.code"),
    ("default: A\ndepartments: [{name: A, colour: red}]", "departments.0.colour"),
    ("default: A\ndepartments: []", "departments"),
])
def test_a_wrong_file_is_named_with_its_key(text: str, message: str) -> None:
    with pytest.raises(DepartmentsError) as error:
        parse(text, "departments.yml")
    assert "departments.yml" in str(error.value) and message in str(error.value)
