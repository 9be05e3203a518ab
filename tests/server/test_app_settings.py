"""An app made with settings of its own uses them everywhere, also in the parts that read files while
serving (the loan parameters, the checklists) and in what they tell citizens (the hotline)."""
from __future__ import annotations

import shutil

import yaml
from fastapi.testclient import TestClient

from core.settings import Settings
from server.app import create_app
from tests.conftest import ROOT


def test_create_app_settings_name_the_loan_file_the_checklists_and_the_hotline(tmp_path):
    # Copies identical to the shipped files, so the shared knowledge index still matches them; they are
    # edited once the app runs, and only this app's settings lead to the copies.
    params, checklists = tmp_path / "params", tmp_path / "checklists"
    shutil.copytree(ROOT / "policy" / "params", params)
    shutil.copytree(ROOT / "policy" / "checklists", checklists)
    settings = Settings(
        data_dir=tmp_path / "data", loan_params_path=params / "loan.yml", checklists_dir=checklists,
        hotline="0310-7654321", knowledge_watch_s=3600,  # no rebuild of the shared index for the edits below
    )
    shipped_single = yaml.safe_load((ROOT / "policy" / "params" / "loan.yml").read_text(encoding="utf-8"))[
        "caps"]["single"]
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/v1/loan/params").json()["caps"]["single"] == shipped_single

        loan = yaml.safe_load((params / "loan.yml").read_text(encoding="utf-8"))
        loan["caps"]["single"] = shipped_single + 12_345
        (params / "loan.yml").write_text(yaml.safe_dump(loan, allow_unicode=True, sort_keys=False), encoding="utf-8")
        assert client.get("/api/v1/loan/params").json()["caps"]["single"] == shipped_single + 12_345
        calculated = client.post("/api/v1/loan/max-amount", json={
            "monthly_wage": 90_000, "employer_monthly_deposit": 9_000, "house_price": 9_000_000,
            "account_balance": 900_000, "home": "first",
        })
        assert calculated.json()["binding_limit"] == "cap"
        assert calculated.json()["max_amount"] == shipped_single + 12_345, "the calculator uses the edited cap"

        (checklists / "rent.yml").write_text("title: [\n", encoding="utf-8")
        refused = client.get("/api/v1/checklists")
        assert refused.status_code == 503 and refused.json()["code"] == "checklists_unavailable"
        assert "0310-7654321" in refused.json()["message"]
    assert yaml.safe_load((ROOT / "policy" / "params" / "loan.yml").read_text(encoding="utf-8"))[
        "caps"]["single"] == shipped_single, "the shipped file is untouched"
