"""`/api/docs` in headless Chromium with every request to anywhere but the service refused: the page
must draw the operations from the service's own copy of Swagger UI (a CDN is unreachable at the centre)."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

# Last in the session with the other browser tests: Playwright keeps an event loop in the main thread.
pytestmark = [pytest.mark.browser, pytest.mark.rasa]


def test_api_docs_show_the_operations_offline(page: Page, service_url: str) -> None:
    ours = urlsplit(service_url).netloc
    elsewhere: list[str] = []

    def only_ours(route: Route) -> None:
        if urlsplit(route.request.url).netloc == ours:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_ours)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    response = page.goto("/api/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # An operation of each kind a reader looks for: the app's messages and the console's login.
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/app/messages").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/console/login").first).to_be_visible()
    assert page.locator(".opblock").count() > 50
    assert elsewhere == [], f"the docs page asked for outside files: {elsewhere}"
    assert violations == [], violations


def test_old_cdn_pages_are_gone(page: Page) -> None:
    # FastAPI's ReDoc page loads its script from a CDN too: it is not served.
    response = page.goto("/redoc")
    assert response is not None and response.status == 404
