"""Fixtures for the voice tests: the service with the phone line configured against a local fake of
Twilio's REST API, a scripted Rasa, and the agent pool as the handoff contract describes it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aioice.ice
import pytest
from fastapi.testclient import TestClient

from core.settings import Settings
from server.app import create_app
from tests.channels.voice.phone_fakes import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PUBLIC_BASE,
    ContractPool,
    FakeTwilio,
    ScriptedRasa,
    fake_pool,
)


@pytest.fixture(scope="session")
def voice_index_dir(tmp_path_factory) -> Path:
    """One knowledge index for every voice test app (built by the first app that starts)."""
    return tmp_path_factory.mktemp("voice-index")


def phone_settings(data_dir: Path, index_dir: Path, rasa_url: str, twilio_url: str, **extra) -> Settings:
    values = {"bot_timeout_s": 2.0} | extra
    return Settings(
        data_dir=data_dir, index_dir=index_dir, rasa_url=rasa_url, twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN, twilio_api_base=twilio_url, public_base_url=PUBLIC_BASE, **values,
    )


@pytest.fixture(scope="module")
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture(scope="module")
def rasa() -> Iterator[ScriptedRasa]:
    with ScriptedRasa() as fake:
        yield fake


@pytest.fixture(scope="module")
def app_client(rasa, fake_twilio, tmp_path_factory, voice_index_dir) -> Iterator[TestClient]:
    settings = phone_settings(tmp_path_factory.mktemp("phone"), voice_index_dir, rasa.url, fake_twilio.url)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def pool(app_client) -> Iterator[ContractPool]:
    """The agent desk behind the handoff contract, played by a fake for this test."""
    with fake_pool(app_client) as fake:
        yield fake


@pytest.fixture(scope="module")
def loopback_ice():
    # aioice leaves 127.0.0.1 out of its host candidates; two peers on one machine need it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
        yield
