"""The running service's parts by type: what was provided comes back, what was not is a clear error."""
from __future__ import annotations

import pytest
from fastapi import FastAPI

from core.bus import EventBus, LocalBus
from core.services import ServiceMissing, Services, services_of
from core.settings import Settings


def test_get_returns_what_was_provided_and_find_says_none_for_what_was_not():
    services = Services()
    settings, bus = Settings(hotline="12329"), LocalBus()
    services.provide(Settings, settings)
    services.provide(EventBus, bus)  # a protocol names a part as well as a class
    assert services.get(Settings) is settings and services.get(EventBus) is bus
    assert Settings in services and LocalBus not in services
    assert services.find(LocalBus) is None


def test_a_missing_part_is_named_in_the_error():
    with pytest.raises(ServiceMissing, match=r"core\.bus\.LocalBus.*lifespan provides it"):
        Services().get(LocalBus)


def test_a_part_of_the_wrong_type_is_refused_when_provided():
    with pytest.raises(TypeError, match="Settings provided as a LocalBus"):
        Services().provide(Settings, LocalBus())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="known by its class"):
        Services().provide(lambda: None, None)


def test_an_app_before_its_lifespan_has_no_services():
    app = FastAPI()
    with pytest.raises(ServiceMissing, match="built by its lifespan"):
        services_of(app)
    services = app.state.services = Services()
    assert services_of(app) is services
