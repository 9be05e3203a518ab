"""The WeChat channel under test: the real service (uvicorn on 127.0.0.1, in a thread) talking to
the fake WeChat (fakes/wechat.py) and a fake Rasa whose answers and delay each test sets."""
from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse

from core.settings import Settings
from fakes.rasa import FakeRasa
from fakes.wechat import FakeWeChat
from server.app import create_app
from server.stack import free_port

TOKEN = "hpf-test-token"
APPID = "wx0123456789abcdef"
SECRET = "fake-app-secret-0123456789"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them


class ScriptedRasa(FakeRasa):
    """Rasa's REST webhook: scripted replies (Rasa's custom JSON) for chosen texts, else the echo."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: dict[str, list[dict]] = {}

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body["message"] not in self.scripts:
            return await super()._webhook(request)  # Starlette keeps the body: it can be read again
        self.received.append(body)
        await asyncio.sleep(self.delay)
        return JSONResponse([{"recipient_id": body["sender"], "custom": c} for c in self.scripts[body["message"]]])


class LiveService:
    """The service, started with its lifespan on a free port; `run()` runs a coroutine on its loop
    (its database sessions and hub belong to that loop)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=settings.port, log_level="warning", lifespan="on")
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def wechat_url(self) -> str:
        return f"{self.url}/wechat"

    def run(self, coroutine, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self._server.serve()

    def __enter__(self) -> LiveService:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start (see the log above)")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    """The knowledge index, built once for every service these tests start."""
    from knowledge.ingest import ensure_index

    settings = Settings(data_dir=tmp_path_factory.mktemp("wechat-kb"))
    ensure_index(settings, force=False, progress=None)
    return settings.index_dir


def service_settings(data_dir: Path, index_dir: Path, rasa: FakeRasa, fake: FakeWeChat, **overrides) -> Settings:
    port = overrides.pop("port", None) or free_port()
    values = {
        "data_dir": data_dir,
        "index_dir": index_dir,
        "port": port,
        "public_base_url": f"http://127.0.0.1:{port}",
        "rasa_url": rasa.url,
        "bot_timeout_s": 3.0,
        "wechat_token": fake.token,
        "wechat_aes_key": fake.aes_key,
        "wechat_appid": fake.appid,
        "wechat_secret": fake.secret,
        "wechat_api_base": fake.api_base,
        "wechat_oauth_base": fake.oauth_base,
    }
    return Settings(**(values | overrides))


def new_fake(**options) -> FakeWeChat:
    return FakeWeChat(token=TOKEN, appid=APPID, secret=SECRET, aes_key=AES_KEY, **options)


@pytest.fixture(scope="session")
def rasa() -> Iterator[ScriptedRasa]:
    with ScriptedRasa() as fake:
        yield fake


@pytest.fixture(autouse=True)
def fresh_bot(request) -> None:
    """Every test starts with a prompt bot and no scripts (when the module uses the bot)."""
    if "rasa" in request.fixturenames:
        bot = request.getfixturevalue("rasa")
        bot.delay = 0.0
        bot.scripts.clear()


@pytest.fixture(scope="session")
def wechat() -> Iterator[FakeWeChat]:
    """WeChat with short timings (a 1.5 s deadline instead of 5 s) so slow paths stay quick. Shared by
    every test, each with its own citizen (`openid`)."""
    with new_fake(reply_timeout_s=1.5) as fake:
        yield fake


@pytest.fixture(scope="session")
def service(tmp_path_factory, index_dir, rasa, wechat) -> Iterator[LiveService]:
    """The service in compatible mode (plain and encrypted accepted), answering within 0.8 s."""
    settings = service_settings(
        tmp_path_factory.mktemp("wechat-service"), index_dir, rasa, wechat, wechat_reply_budget_s=0.8
    )
    with LiveService(settings) as live:
        yield live


_citizens = itertools.count(1)


@pytest.fixture
def openid() -> str:
    """A citizen no other test has used."""
    return f"o-test-{next(_citizens):04d}-{int(time.time() * 1000) % 10**8}"
