"""The live system through the app API, for tests that talk to the real trained assistant."""
from __future__ import annotations

import httpx
import pytest

from tests.credentials import APP_HEADERS


@pytest.fixture(scope="module")
def ask(live_service):
    """ask(text, user) sends one message as `user` and returns the replies."""
    client = httpx.Client(base_url=live_service.base_url, timeout=30, headers=APP_HEADERS)

    def send(text: str, user: str) -> list[dict]:
        response = client.post("/api/v1/app/messages", json={"user_id": user, "text": text})
        assert response.status_code == 200, response.text
        return response.json()["replies"]

    yield send
    client.close()
