"""The access token: one refresh however many processes need it at once (database row lock or Redis
lock), refreshed before expiry and on 40001/42001 with the call retried once, never logged."""
from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest

from channels.wechat.api import WeChatApi
from channels.wechat.tokens import DatabaseTokens, RedisTokens, Token
from conversations.hub import Hub
from conversations.models import Author
from conversations.replies import Reply
from core.db import make_engine, make_sessionmaker, migrate, utcnow
from core.services import services_of
from core.settings import ROOT
from fakes import wechat as wx
from tests.channels.wechat.conftest import new_fake
from tests.databases import postgres_database, reset_postgres

PROCESSES = 6


@pytest.fixture(scope="module")
def slow_tokens():
    """WeChat taking half a second to issue a token: plenty of time for racing refreshers to collide."""
    with new_fake() as fake:
        fake.token_delay_s = 0.5
        yield fake


@pytest.fixture(scope="module")
def wechat_postgres(postgres_url) -> str:
    """A database of its own on the test server, from empty whatever an earlier run left."""
    url = postgres_database(postgres_url, "wechat")
    reset_postgres(url)
    migrate(url)
    return url


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("redis", marks=pytest.mark.redis)]
)
def shared_store(request, tmp_path):
    """(kind, url) of the store the token lives in; each test gets its own account id."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tokens.db'}"
        migrate(url)
        return "database", url
    if request.param == "postgres":
        return "database", request.getfixturevalue("wechat_postgres")
    return "redis", request.getfixturevalue("redis_url")


def api_for(fake: wx.FakeWeChat, backend) -> WeChatApi:
    return WeChatApi(api_base=fake.api_base, oauth_base=fake.oauth_base, appid=fake.appid, secret=fake.secret,
                     tokens=backend)


async def backends(kind: str, url: str, appid: str, count: int):
    """`count` independent stores, as `count` processes would have (own engines, own connections)."""
    made, engines = [], []
    for _ in range(count):
        if kind == "redis":
            made.append(RedisTokens(url, appid))
        else:
            engine = make_engine(url)
            engines.append(engine)
            made.append(DatabaseTokens(make_sessionmaker(engine), appid))
    return made, engines


async def close(made, engines) -> None:
    for backend in made:
        if isinstance(backend, RedisTokens):
            await backend.close()
    for engine in engines:
        await engine.dispose()


async def test_many_processes_needing_a_token_at_once_refresh_once(shared_store, slow_tokens):
    kind, url = shared_store
    appid = f"wx-{uuid.uuid4().hex[:12]}"
    fake = new_fake()
    fake.appid, fake.port = appid, slow_tokens.port  # same server, an account of its own
    slow_tokens.appid = appid
    made, engines = await backends(kind, url, appid, PROCESSES)
    apis = [api_for(fake, backend) for backend in made]
    before = slow_tokens.token_requests
    try:
        tokens = await asyncio.gather(*(api.tokens.current() for api in apis for _ in range(3)))
    finally:
        for api in apis:
            api.close()
        await close(made, engines)
    assert slow_tokens.token_requests - before == 1
    assert len(set(tokens)) == 1


async def test_a_token_close_to_expiry_is_refreshed_before_it_runs_out(tmp_path, slow_tokens):
    url = f"sqlite+aiosqlite:///{tmp_path / 'tokens.db'}"
    migrate(url)
    engine = make_engine(url)
    backend = DatabaseTokens(make_sessionmaker(engine), slow_tokens.appid)
    api = api_for(slow_tokens, backend)
    try:
        first = await api.tokens.current()
        assert await api.tokens.current() == first, "a fresh token is reused"
        owner = "test"
        assert await backend.take_lease(owner)
        await backend.write(owner, Token(first, utcnow() + timedelta(seconds=90)))  # WeChat's expiry is near
        api.tokens._memo = None  # as another process would see it
        assert await api.tokens.current() != first
    finally:
        api.close()
        await engine.dispose()


def test_two_real_processes_refresh_once(tmp_path, slow_tokens):
    url = f"sqlite+aiosqlite:///{tmp_path / 'tokens.db'}"
    migrate(url)
    script = (
        "import asyncio, sys\n"
        "from channels.wechat.api import WeChatApi\n"
        "from channels.wechat.tokens import DatabaseTokens\n"
        "from core.db import make_engine, make_sessionmaker\n"
        "async def main():\n"
        "    engine = make_engine(sys.argv[1])\n"
        "    api = WeChatApi(api_base=sys.argv[2], oauth_base=sys.argv[2], appid=sys.argv[3], secret=sys.argv[4],\n"
        "                    tokens=DatabaseTokens(make_sessionmaker(engine), sys.argv[3]))\n"
        "    print(await api.tokens.current()); api.close(); await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    before = slow_tokens.token_requests
    args = [sys.executable, "-c", script, url, slow_tokens.api_base, slow_tokens.appid, slow_tokens.secret]
    procs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert slow_tokens.token_requests - before == 1
    assert outputs[0] == outputs[1] and outputs[0]


# -- through the service: a token that stops working mid-conversation -------------------------------

def push_from_agent(service, openid: str, text_: str) -> None:
    async def push():
        hub = services_of(service.app).get(Hub)
        conversation = await hub.open_conversation(channel="wechat", kind="wechat", value=openid)
        await hub.send(conversation.id, "wechat", Author.AGENT, Reply(text_), push=True)

    service.run(push())


@pytest.mark.parametrize(("spoil", "errcode"), [("expire_tokens", 42001), ("revoke_tokens", 40001)])
def test_token_refused_mid_conversation_is_refreshed_and_the_message_sent_once(
    service, wechat, openid, spoil, errcode, caplog
):
    wechat.post(service.wechat_url, wx.text(openid, "你好"))
    push_from_agent(service, openid, "您好，我是客服小李。")
    wechat.wait_for(openid, 2)
    getattr(wechat, spoil)()
    requests_before, calls_before = wechat.token_requests, len(wechat.calls)
    # The service logs at INFO; the HTTP client's DEBUG lines, which carry request URLs, are let through
    # too: the token in those URLs must come out masked.
    caplog.set_level(logging.INFO)
    for noisy in ("urllib3", "requests", "wechatpy", "channels.wechat"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    push_from_agent(service, openid, "请问还有什么可以帮您？")
    shown = wechat.wait_for(openid, 3)
    assert [s.content for s in shown[1:]] == ["您好，我是客服小李。", "请问还有什么可以帮您？"]
    assert wechat.calls[calls_before:] == [("message/custom/send", errcode), ("token", 0), ("message/custom/send", 0)]
    assert wechat.token_requests == requests_before + 1
    issued = list(wechat._tokens)
    assert "access_token=***" in caplog.text, "the HTTP client's request lines were seen, masked"
    assert issued and not any(token in caplog.text for token in issued), "tokens never reach the logs"
    assert wechat.secret not in caplog.text
