"""The campaign API as outside checks use it, on the whole service (SQLite, the embedded queue): log in
at /api/v1/console/login, prepare, approve with four eyes, start, watch the counts, suppress a number;
the queue inside the service places the calls through the fake Twilio."""
from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from callout.wechat_optout import WeChatOptOut
from conversations.hub import Hub
from core.settings import Settings
from server.app import create_app
from staff import passwords
from tests.agent_console.helpers import CHEAP_HASHER
from tests.callout.helpers import CALLER_ID, people, phone_settings
from tests.credentials import APP_API_KEY

pytestmark = pytest.mark.index  # the whole service builds the knowledge index


@pytest.fixture(scope="module")
def service(tmp_path_factory, fake_twilio):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", CHEAP_HASHER)
        settings = Settings(data_dir=tmp_path_factory.mktemp("callout-service"), console_bootstrap_admin="admin:admin-pass-1",
                            app_api_key=APP_API_KEY, callout_workers=1, outreach_quiet_hours="off",
                            **phone_settings(fake_twilio))
        with TestClient(create_app(settings)) as client:
            yield client


def bearer(client: TestClient, username: str, password: str) -> dict[str, str]:
    answer = client.post("/api/v1/console/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_prepare_approve_start_and_count(service, fake_twilio):
    admin = bearer(service, "admin", "admin-pass-1")
    for name, role in (("planner", "campaigner"), ("lead", "supervisor")):
        made = service.post("/api/v1/console/agents", headers=admin,
                            json={"username": name, "password": "secret-pass-1", "role": role})
        assert made.status_code in (200, 201), made.text
    planner, lead = bearer(service, "planner", "secret-pass-1"), bearer(service, "lead", "secret-pass-1")

    everyone = [{"start": "00:00", "end": "23:59"}]
    body = {"name": "政策变更通知", "channel": "voice", "message": "{name}您好，公积金缴存基数调整，详询12329。",
            "recipients": people(3) + [{"phone": "12", "name": "坏号码"}], "windows": everyone,
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "call_on_holidays": True, "max_attempts": 1}
    created = service.post("/api/v1/campaigns", json=body, headers=planner)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["status"] == "draft" and [r["row"] for r in campaign["rejected"]] == [4]

    assert service.post(f"/api/v1/campaigns/{campaign['id']}/approve", headers=planner).status_code == 403
    approved = service.post(f"/api/v1/campaigns/{campaign['id']}/approve", headers=lead)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    suppressed = service.post("/api/v1/outreach/suppressions", json={"phone": "13900000002"}, headers=lead)
    assert suppressed.status_code == 201
    started = service.post(f"/api/v1/campaigns/{campaign['id']}/start", headers=planner)
    assert started.status_code == 200 and started.json()["status"] == "running"

    deadline = time.monotonic() + 20
    while len(fake_twilio.call_to("+8613900000000") + fake_twilio.call_to("+8613900000001")) < 2:
        assert time.monotonic() < deadline, "the service's queue placed no calls"
        time.sleep(0.1)
    status = service.get(f"/api/v1/campaigns/{campaign['id']}", headers=planner).json()
    assert status["counts"]["total"] == 3 and status["counts"]["suppressed"] == 1
    assert status["counts"]["calling"] == 2
    assert fake_twilio.call_to("+8613900000002") == []
    assert all(call.params["From"] == CALLER_ID for call in fake_twilio.calls)


def test_unsubscribing_on_wechat_is_wired_into_the_hub(service):
    hub = service.app.state.services.get(Hub)
    assert any(isinstance(interceptor, WeChatOptOut) for interceptor in hub._interceptors)
