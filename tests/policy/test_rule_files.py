"""The rule files as the centre edits them: the shipped ones are sound, a broken one is reported with
its file and key, and an edit is picked up without a restart."""
import os
import shutil
from pathlib import Path

import pytest
import yaml

from knowledge.articles import load_articles
from policy import checklist_rules
from policy.checklist_rules import ChecklistError, load_checklists
from policy.params import load_params
from tests.conftest import ROOT
from tests.policy.helpers import CHECKLISTS_DIR, PARAMS_DIR, shipped


def test_shipped_files_load_and_name_real_articles_and_business_links():
    found = shipped()
    params = load_params(PARAMS_DIR)
    articles = {a.id: a for a in load_articles(ROOT / "knowledge" / "articles", params)}
    for checklist in found.cases.values():
        for article_id in checklist.articles:
            assert article_id in articles, f"{checklist.case}.yml names a missing article {article_id}"
        # The online form is the one the articles themselves link to.
        (business,) = {articles[a].business for a in checklist.articles}
        expected = params["business"][business]["url"] if business else None
        assert (checklist.business_link or {}).get("url") == expected, checklist.case
    # Every withdrawal article that describes a case to apply for has its check.
    withdrawal_cases = {a for a in articles if a.startswith("withdraw-")} - {
        "withdraw-arrival-time", "withdraw-frequency", "withdraw-online-guide",
        "withdraw-overview", "withdraw-family-members",  # overviews, not one case to apply for
    }
    assert withdrawal_cases <= set(found.by_article)


def test_command_line_check_reports_ok_and_errors(tmp_path, monkeypatch, capsys):
    from core.settings import get_settings

    assert checklist_rules.main() == 0
    assert "16 checklists OK" in capsys.readouterr().out
    broken = tmp_path / "lists"
    shutil.copytree(CHECKLISTS_DIR, broken)
    (broken / "rent.yml").write_text("title: [\n", encoding="utf-8")
    monkeypatch.setattr(get_settings(), "checklists_dir", broken)
    assert checklist_rules.main() == 1
    assert "rent.yml" in capsys.readouterr().err


def edited(tmp_path: Path, change) -> Path:
    """A copy of the shipped files with rent.yml changed by `change(data)`."""
    directory = tmp_path / "lists"
    shutil.copytree(CHECKLISTS_DIR, directory)
    path = directory / "rent.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return directory


def _set(path: str, value):
    def change(data):
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (_set("questions.0.type", "maybe"), "questions.0.type", "yes_no"),
        (_set("questions.0.ask-if", "x == yes"), "questions.0.ask-if", "Extra"),
        (_set("rules.0.if", "own_home == maybe"), "rules.0.if", "maybe"),
        (_set("rules.0.if", "nobody == yes"), "rules.0.if", "nobody"),
        (_set("rules.0.if", "own_home = yes"), "rules.0.if", "有误"),
        (_set("rules.1.if", "mode < 3"), "rules.1.if", "不是数字题"),
        (_set("rules.1.if", "deposit_months < {{withdrawal.rent.nothing}}"), "rules.1.if", "nothing"),
        (_set("rules.0.outcome", "maybe"), "rules.0.outcome", "not_eligible"),
        (_set("questions.4.ask_if", "own_card == yes"), "questions.4.ask_if", "前面的问题"),
        (_set("questions.3.choices", [{"id": "only", "text": "唯一"}]), "questions.3.choices", "两个选项"),
        (_set("questions.1.min", _DELETE), "questions.1", "min"),
        (_set("questions.1.id", "own_home"), "questions.1.id", "重复"),
        (_set("documents.3.if", "mode == rented"), "documents.3.if", "rented"),
        (_set("warnings.0.text", "{{withdrawal.rent.cap|yuan}}"), "warnings.0.text", "cap"),
        (_set("business", "withdraw-nowhere"), "business", "business.yml"),
        (_set("source", _DELETE), "source", "Field required"),
        (_set("rules", []), "questions.0", "没有被任何条件用到"),
        (_set("articles", ["withdraw-purchase-new"]), "articles", "purchase-new.yml"),
    ],
)
def test_a_broken_file_is_reported_with_file_and_key(tmp_path, change, key, words):
    directory = edited(tmp_path, change)
    with pytest.raises(ChecklistError) as caught:
        load_checklists(directory, PARAMS_DIR)
    message = str(caught.value)
    assert message.startswith(("rent.yml: ", "purchase-new.yml: ")), message
    assert f": {key}" in message and words in message, message


def test_invalid_yaml_and_bad_file_names_are_reported(tmp_path):
    directory = tmp_path / "lists"
    directory.mkdir()
    (directory / "rent.yml").write_text("title: 租房\nquestions: [\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match="rent.yml: 不是合法的 YAML"):
        load_checklists(directory, PARAMS_DIR)
    (directory / "rent.yml").unlink()
    (directory / "Rent Case.yml").write_text("title: x\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match="Rent Case.yml: 文件名"):
        load_checklists(directory, PARAMS_DIR)
    with pytest.raises(ChecklistError, match="没有清单文件"):
        load_checklists(tmp_path / "empty", PARAMS_DIR)


def touch_later(path: Path) -> None:
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_edits_to_rules_and_parameters_are_picked_up_and_a_broken_edit_is_refused(tmp_path):
    directory = edited(tmp_path, lambda data: None)
    params = tmp_path / "params"
    shutil.copytree(PARAMS_DIR, params)
    first = checklist_rules.current(directory, params)
    assert "满3个月" in first.cases["rent"].rules[1].reason

    withdrawal = params / "withdrawal.yml"
    withdrawal.write_text(withdrawal.read_text(encoding="utf-8").replace(
        "min_deposit_months: 3 ", "min_deposit_months: 6 "), encoding="utf-8")
    touch_later(withdrawal)
    assert "满6个月" in checklist_rules.current(directory, params).cases["rent"].rules[1].reason

    rent = directory / "rent.yml"
    rent.write_text(rent.read_text(encoding="utf-8").replace("title: 租房提取", "title: 租房提取（新）"), encoding="utf-8")
    touch_later(rent)
    assert checklist_rules.current(directory, params).cases["rent"].title == "租房提取（新）"

    rent.write_text("title: [\n", encoding="utf-8")
    touch_later(rent)
    with pytest.raises(ChecklistError, match="rent.yml"):
        checklist_rules.current(directory, params)
    with pytest.raises(ChecklistError, match="rent.yml"):  # still refused, not half-read, on the next call
        checklist_rules.current(directory, params)
