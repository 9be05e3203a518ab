"""Fixtures shared by every test: database URLs, free ports, and the live system (real Rasa,
real action server, real service) started once per test session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from core.db import migrate
from fakes.browser import CHROMIUM, CHROMIUM_ARGS
from server.stack import MODEL, Stack, free_port, quiet_env
from tests.credentials import APP_API_KEY
from tests.databases import reset_postgres

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """One knowledge index for the whole run: building it (embeddings, learned rankers) takes half a
    minute, and every app, stack and fixture that does not name its own INDEX_DIR can share it."""
    os.environ.setdefault("INDEX_DIR", tempfile.mkdtemp(prefix="hpf-test-index-"))


# A test that takes one of these fixtures needs what the marker names, whether or not its module says
# so: `make quick` leaves such tests out by marker, so none can slip in and wait for a server.
FIXTURE_MARKERS = {
    "postgres_url": "postgres",
    "suite_postgres_url": "postgres",
    "redis_url": "redis",
    "live_service": "rasa",
    "browser": "browser",
    "page": "browser",
    "knowledge_base": "index",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks what the fixtures need (above). Browser tests run last: Playwright's sync API keeps an
    event loop running in the main thread from the first browser test to the end of the session, and
    no async test can run after that."""
    for item in items:
        for fixture in set(getattr(item, "fixturenames", ())) & FIXTURE_MARKERS.keys():
            item.add_marker(FIXTURE_MARKERS[fixture])
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with scripts/test.sh (make test), which starts the servers")
    return value


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return required_env("TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return required_env("TEST_REDIS_URL")


@pytest.fixture(scope="session")
def suite_postgres_url(postgres_url: str) -> str:
    """The PostgreSQL database `database_url` empties for each test; a suite's conftest may name its own."""
    return postgres_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A database migrated from empty by Alembic: every test that takes it runs on SQLite and on a real
    PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("suite_postgres_url")
        reset_postgres(url)
    migrate(url)
    return url


def ensure_model() -> None:
    if not MODEL.exists():
        subprocess.run([str(ROOT / "scripts" / "train.sh")], check=True, env=quiet_env())


@pytest.fixture(scope="session")
def live_service(tmp_path_factory) -> Iterator[Stack]:
    """The real system: `rasa run actions`, `rasa run` with the trained model, and the service
    (`.base_url`, `.rasa_url`, …), started once per test session on free ports."""
    ensure_model()
    stack = Stack(
        data_dir=tmp_path_factory.mktemp("live"),
        service_port=free_port(),
        rasa_port=free_port(),
        actions_port=free_port(),
        app_api_key=APP_API_KEY,
    )
    try:
        stack.start()
    except Exception:
        sys.stderr.write(stack.tail_logs())
        stack.stop()
        raise
    yield stack
    stack.stop()


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Path:
    """A copy-friendly temporary folder (articles, parameters) for index tests."""
    shutil.copytree(ROOT / "policy" / "params", tmp_path / "params")
    return tmp_path


@pytest.fixture(scope="session")
def knowledge_base(tmp_path_factory):
    """The real articles indexed once per session with the shipped encoder."""
    from core.settings import Settings
    from knowledge.encoders import make_encoder
    from knowledge.ingest import ensure_index
    from knowledge.search import KnowledgeBase
    from knowledge.tokenize import shared_tokenizer

    settings = Settings(data_dir=tmp_path_factory.mktemp("kb"))  # the shared INDEX_DIR (pytest_configure)
    ensure_index(settings, progress=None)
    encoder = make_encoder(settings.embedding_model)
    return KnowledgeBase(settings.index_dir, encoder, shared_tokenizer(settings.dictionary_dir))


# One headless Chromium per session, for tests/browser and the topology's page test alike: Playwright's
# sync API runs one event loop in the main thread, so a second instance could not start.
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium or set CHROMIUM_PATH")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()


