"""The month-by-month repayment plan as a page (还款计划表, linked from the bot's loan answers): every
instalment with its principal, interest and what is left, the same summary as the answer, the pages'
security headers; refused input answered as by the API."""
from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from policy import loan_api, schedule_page
from tests.unit.policy.test_loan_api import params_file  # noqa: F401  (the pinned parameter file)


@pytest.fixture
def client(params_file) -> TestClient:  # noqa: F811
    app = FastAPI()
    services = app.state.services = Services()
    services.provide(Settings, Settings(loan_params_path=params_file))
    install_error_handlers(app)
    app.include_router(loan_api.router)
    app.include_router(schedule_page.router)
    return TestClient(app, raise_server_exceptions=False)


def test_every_instalment_of_the_plan_is_shown_with_the_answers_summary(client):
    page = client.get("/loan/schedule", params={"principal": 1_000_000, "years": 30})
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    rows = re.findall(r"<tr><td>(\d+)</td><td>([\d,.]+)</td><td>([\d,.]+)</td><td>([\d,.]+)</td><td>([\d,.]+)</td>",
                      page.text)
    assert [int(r[0]) for r in rows] == list(range(1, 361))
    api = client.post("/api/v1/loan/repayment?schedule=true", json={"principal": 1_000_000, "years": 30}).json()
    assert api["text"].split("（")[0] in page.text  # the same summary as the bot's answer
    first, last = api["schedule"][0], api["schedule"][-1]
    assert rows[0][1:] == tuple(f"{first[k]:,.2f}" for k in ("payment", "principal", "interest", "remaining"))
    assert rows[-1][4] == "0.00" and last["remaining"] == 0


def test_equal_principal_plans_pay_less_each_month(client):
    page = client.get("/loan/schedule", params={"principal": 300_000, "years": 10, "method": "equal_principal"})
    payments = [float(p.replace(",", "")) for p in re.findall(r"<tr><td>\d+</td><td>([\d,.]+)</td>", page.text)]
    assert len(payments) == 120 and payments == sorted(payments, reverse=True)


@pytest.mark.parametrize("params", [{"principal": -5, "years": 30}, {"principal": 100_000, "years": 99},
                                    {"principal": "abc", "years": 10}])
def test_input_the_calculator_refuses_is_a_clear_error(client, params):
    refused = client.get("/loan/schedule", params=params)
    assert refused.status_code == 422 and refused.json()["message"]
