"""Headless Chromium for the browser tests (Debian's build: `playwright install` cannot run here)."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
# An answer goes through Rasa (or, when it is slow, the knowledge fallback): allow more than the 5 s default.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def service_url(request) -> str:
    """The service under test: HPF_TEST_SERVICE_URL (an already running `make run`), else the live system."""
    return os.environ.get("HPF_TEST_SERVICE_URL") or request.getfixturevalue("live_service").base_url


def _page(browser: Browser, base_url: str, **options) -> Iterator[Page]:
    # A fresh context per test: its own localStorage, so its own visitor and conversation. The browser
    # clock is UTC on purpose: the page must show Asia/Shanghai times whatever the visitor's zone.
    context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="UTC", **options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(browser: Browser, service_url: str) -> Iterator[Page]:
    yield from _page(browser, service_url, viewport=DESKTOP)


@pytest.fixture
def phone_page(browser: Browser, service_url: str) -> Iterator[Page]:
    yield from _page(browser, service_url, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
