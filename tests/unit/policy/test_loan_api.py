"""The loan HTTP API as the Rasa actions use it, and live reloading of the parameter file."""
import os
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from policy import loan_api
from tests.conftest import ROOT

SHIPPED = ROOT / "policy" / "params" / "loan.yml"
# The numbers these tests assert, pinned over a copy of the shipped file.
PINNED = {
    "rates": [
        {"effective": "2025-05-08", "source": "PBoC 2025", "first_home": {"upto_5y": 2.1, "over_5y": 2.6},
         "second_home": {"upto_5y": 2.525, "over_5y": 3.075}},
        {"effective": "2024-05-18", "source": "PBoC 2024", "first_home": {"upto_5y": 2.35, "over_5y": 2.85},
         "second_home": {"upto_5y": 2.775, "over_5y": 3.325}},
    ],
    "caps": {"source": "test", "single": 800_000, "couple": 1_000_000, "multi_child_bonus": 100_000},
    "balance_multiple": 15,
    "balance_floor": 20_000,
    "repayment_capacity_ratio": 0.4,
    "down_payment": {"first_home": 0.2, "second_home": 0.3},
    "min_deposit_months": 6,
    "max_term_years": 30,
}


def write_params(path: Path, **changes) -> None:
    """Rewrite the file and move its mtime on, as an editor saving twice in a second might not."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def params_file(tmp_path) -> Path:
    path = tmp_path / "loan.yml"
    path.write_bytes(SHIPPED.read_bytes())
    write_params(path, **PINNED)
    return path


@pytest.fixture
def client(params_file) -> TestClient:
    app = FastAPI()
    services = app.state.services = Services()  # what the service's lifespan provides, settings only
    services.provide(Settings, Settings(loan_params_path=params_file))
    install_error_handlers(app)
    app.include_router(loan_api.router)
    return TestClient(app, raise_server_exceptions=False)


# ---------------------------------------------------------------- repayment

def test_repayment_contract_with_default_rate(client):
    response = client.post("/api/v1/loan/repayment", json={"principal": 1_000_000, "years": 30})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "monthly_payment": 4003.40,
        "last_payment": 4003.40,
        "total_interest": 441222.96,
        "total_payment": 1441222.96,
        "annual_rate_percent": 2.6,
        "rate_effective": "2025-05-08",
        "months": 360,
        "method": "equal_installment",
        "text": body["text"],
    }
    assert "每月还款 4,003.40 元" in body["text"] and "2025-05-08起执行的首套房" in body["text"]


def test_repayment_equal_principal_second_home_short_term(client):
    body = client.post(
        "/api/v1/loan/repayment",
        json={"principal": 300_000, "years": 5, "method": "equal_principal", "home": "second"},
    ).json()
    r = 0.02525 / 12
    assert body["annual_rate_percent"] == 2.525 and body["months"] == 60
    assert body["monthly_payment"] == round(5_000 + 300_000 * r, 2)
    assert body["last_payment"] == round(5_000 * (1 + r), 2)
    assert body["total_interest"] == round(61 * 300_000 * r / 2, 2)
    assert body["method"] == "equal_principal" and "首月还款" in body["text"]


def test_repayment_with_own_rate_and_schedule(client):
    response = client.post(
        "/api/v1/loan/repayment?schedule=true",
        json={"principal": 1_000_000, "years": 30, "annual_rate_percent": 2.85},
    )
    body = response.json()
    assert body["monthly_payment"] == 4135.57 and body["rate_effective"] is None
    assert "您指定的利率" in body["text"]
    schedule = body["schedule"]
    assert len(schedule) == 360 and schedule[0]["month"] == 1
    assert schedule[0]["interest"] == round(1_000_000 * 0.0285 / 12, 2)
    assert schedule[-1]["remaining"] == 0
    assert sum(row["principal"] for row in schedule) == pytest.approx(1_000_000, abs=0.5)


def test_repayment_without_schedule_has_none(client):
    body = client.post("/api/v1/loan/repayment", json={"principal": 100_000, "years": 10}).json()
    assert "schedule" not in body


@pytest.mark.parametrize(
    "body, code, message, field",
    [
        ({"principal": 500_000, "years": 99}, "invalid_years", "贷款年限需在1到30年之间。", "years"),
        ({"principal": -1, "years": 20}, "invalid_principal", "贷款金额需大于0元且不超过500万元（5,000,000元）。", "principal"),
        ({"principal": 500_000, "years": 20, "annual_rate_percent": 50}, "invalid_rate", "年利率需在0%到15%之间。",
         "annual_rate_percent"),
    ],
)
def test_repayment_refusals_carry_code_message_and_field(client, body, code, message, field):
    response = client.post("/api/v1/loan/repayment", json=body)
    assert response.status_code == 422
    assert response.json() == {"code": code, "message": message, "field": field}


@pytest.mark.parametrize(
    "body",
    [
        {"principal": 500_000, "years": 20, "surprise": 1},
        {"principal": 500_000, "years": 20, "method": "balloon"},
        {"principal": 500_000, "years": 20, "home": "third"},
        {"years": 20},
        {"principal": "lots", "years": 20},
    ],
)
def test_repayment_malformed_requests_use_the_apps_422(client, body):
    response = client.post("/api/v1/loan/repayment", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


# ---------------------------------------------------------------- maximum amount

def test_max_amount_contract(client):
    response = client.post(
        "/api/v1/loan/max-amount",
        json={"monthly_wage": 5_000, "monthly_deposit_total": 1_000, "house_price": 1_000_000,
              "account_balance": 50_000, "age": 30, "gender": "female", "deposit_months": 24},
    )
    assert response.status_code == 200
    body = response.json()
    # (5,000 + 1,000 / 2) × 40% = 2,200 a month, which carries ≈ 549,533 yuan at 2.6% over 30 years.
    assert body["max_amount"] == pytest.approx(2_200 / 4003.40 * 1_000_000, abs=2)
    assert body["binding_limit"] == "capacity"
    assert body["limits"] == {"capacity": body["max_amount"], "house_price": 800_000, "balance": 750_000, "cap": 800_000}
    assert (body["years"], body["annual_rate_percent"], body["eligible"], body["reasons"]) == (30, 2.6, True, [])
    assert body["detail"]["capacity"]["principal_simple"] == 792_000
    assert body["text"].startswith("按您提供的情况估算，首套房最高可贷约 54.95 万元")


def test_max_amount_refused_for_too_few_deposit_months(client):
    body = client.post(
        "/api/v1/loan/max-amount",
        json={"monthly_wage": 20_000, "employer_monthly_deposit": 2_000, "house_price": 500_000,
              "account_balance": 50_000, "deposit_months": 2},
    ).json()
    assert body["eligible"] is False and body["max_amount"] == 0
    assert body["binding_limit"] == "house_price" and body["limits"]["house_price"] == 400_000
    assert body["reasons"] == ["申请公积金贷款前须连续足额缴存满6个月，目前为2个月。"]


def test_max_amount_term_capped_by_age(client):
    body = client.post(
        "/api/v1/loan/max-amount",
        json={"monthly_wage": 8_000, "house_price": 1_000_000, "account_balance": 50_000, "age": 57, "gender": "male",
              "years": 20},
    ).json()
    assert body["years"] == 8 and body["detail"]["term"]["age_limit_years"] == 8


@pytest.mark.parametrize(
    "change, code, message",
    [
        ({"age": 16}, "invalid_age", "年龄需在18到70周岁之间。"),
        ({"monthly_wage": 1_000_000}, "invalid_monthly_wage", "月工资需大于0元且不超过200,000元。"),
        ({"years": 31}, "invalid_years", "贷款年限需在1到30年之间。"),
    ],
)
def test_max_amount_refusals(client, change, code, message):
    body = {"monthly_wage": 8_000, "house_price": 1_000_000, "account_balance": 50_000, **change}
    response = client.post("/api/v1/loan/max-amount", json=body)
    assert response.status_code == 422
    assert response.json() == {"code": code, "message": message, "field": next(iter(change))}


def test_max_amount_unknown_field_and_bad_gender(client):
    base = {"monthly_wage": 8_000, "house_price": 1_000_000, "account_balance": 50_000}
    for extra in ({"salary": 1}, {"gender": "x"}):
        response = client.post("/api/v1/loan/max-amount", json={**base, **extra})
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"


# ---------------------------------------------------------------- parameters

def test_params_endpoint_shows_rates_with_dates_and_sources(client):
    body = client.get("/api/v1/loan/params").json()
    assert body["rates"][0] == PINNED["rates"][0]
    assert body["current_rate"]["effective"] == "2025-05-08"
    assert body["caps"]["single"] == 800_000 and body["down_payment"]["second_home"] == 0.3
    assert body["limits"]["max_rate_percent"] > 0


def test_edited_file_is_reloaded_without_restart(client, params_file):
    assert client.get("/api/v1/loan/params").json()["caps"]["single"] == 800_000
    write_params(params_file, caps={**PINNED["caps"], "single": 600_000})
    assert client.get("/api/v1/loan/params").json()["caps"]["single"] == 600_000
    body = client.post(
        "/api/v1/loan/max-amount",
        json={"monthly_wage": 40_000, "employer_monthly_deposit": 4_000, "house_price": 5_000_000,
              "account_balance": 100_000},
    ).json()
    assert (body["binding_limit"], body["max_amount"]) == ("cap", 600_000)

    rates = [{**PINNED["rates"][0], "effective": "2025-12-01", "first_home": {"upto_5y": 2.0, "over_5y": 2.5}},
             *PINNED["rates"]]
    write_params(params_file, rates=rates)
    body = client.post("/api/v1/loan/repayment", json={"principal": 1_000_000, "years": 30}).json()
    assert (body["annual_rate_percent"], body["rate_effective"]) == (2.5, "2025-12-01")


def test_broken_file_refuses_service_until_fixed(client, params_file, caplog):
    write_params(params_file, caps={"single": "eighty"})
    response = client.post("/api/v1/loan/repayment", json={"principal": 100_000, "years": 10})
    assert response.status_code == 503
    assert response.json()["code"] == "loan_params_unavailable"
    assert "caps.single" in caplog.text and "caps.couple" in caplog.text
    write_params(params_file, caps=PINNED["caps"])
    assert client.post("/api/v1/loan/repayment", json={"principal": 100_000, "years": 10}).status_code == 200
