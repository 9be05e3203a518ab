"""A campaigner (外呼专员) prepares outbound campaigns and nothing more: no duty, no waiting pool, no
callback tickets, no claims; the agents, supervisors and admins who serve citizens keep all of it."""
from __future__ import annotations

import uuid

import pytest

from agent_console import duty
from core.errors import ApiError
from staff.models import Role
from tests.agent_console.helpers import PASSWORD
from tests.agent_console.test_console_api import ADMIN, login


def account(client, admin: dict, role: str) -> dict:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    body = {"username": name, "password": PASSWORD, "role": role}
    assert client.post("/api/v1/console/agents", json=body, headers=admin).status_code == 201
    return login(client, name)


def test_a_campaigner_never_joins_the_desk(app_client):
    admin = login(app_client, *ADMIN)
    campaigner = account(app_client, admin, "campaigner")
    refused = [
        app_client.post("/api/v1/console/duty", json={"minutes": 60}, headers=campaigner),
        app_client.post("/api/v1/console/duty/break", json={"on": True}, headers=campaigner),
        app_client.get("/api/v1/console/pool", headers=campaigner),
        app_client.post("/api/v1/console/conversations/abc123/claim", headers=campaigner),
        app_client.get("/api/v1/console/callbacks", headers=campaigner),
        app_client.post("/api/v1/console/callbacks/1/claim", headers=campaigner),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden" and "外呼专员" in response.json()["message"]
    assert app_client.get("/api/v1/console/duty", headers=campaigner).json()["state"] == "off"
    assert app_client.get("/api/v1/campaigns", headers=campaigner).status_code == 200  # their own work

    for role in ("agent", "supervisor", "admin"):
        serving = account(app_client, admin, role)
        assert app_client.post("/api/v1/console/duty", json={"minutes": 30}, headers=serving).status_code == 200
        assert app_client.get("/api/v1/console/pool", headers=serving).status_code == 200
        assert app_client.delete("/api/v1/console/duty", headers=serving).status_code == 200


async def test_duty_itself_refuses_a_campaigner(world):
    campaigner = await world.agent("planner", role=Role.CAMPAIGNER, on_duty=False)
    with pytest.raises(ApiError) as refused:
        await duty.apply(world.console, campaigner, 60)
    assert (refused.value.status, refused.value.code) == (403, "forbidden")
