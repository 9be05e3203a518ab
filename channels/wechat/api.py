"""WeChat's server API through wechatpy, at WECHAT_API_BASE (a local fake in tests).

wechatpy is synchronous (requests), so calls run in a small thread pool. Its own token handling is
bypassed: each call takes the token from the shared store (`tokens.SharedToken`); when WeChat says
the token is invalid (40001) or expired (42001) the store refreshes it once for all processes and
the call is retried once. Errors come back as `WeChatError` with WeChat's errcode and never carry
the request URL, which holds the token.
"""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.oauth import WeChatOAuth
from wechatpy.session import SessionStorage

from channels.wechat.tokens import DatabaseTokens, RedisTokens, SharedToken, TokenBackend
from core.settings import Settings

T = TypeVar("T")
TOKEN_ERRORS = frozenset({40001, 42001})  # invalid credential, access_token expired
THREADS = 16
TIMEOUT_S = 10.0

_call_token: ContextVar[str | None] = ContextVar("wechat_call_token", default=None)


class WeChatError(Exception):
    """WeChat refused a call (errcode set) or could not be reached (errcode None)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class _CallToken(SessionStorage):
    """wechatpy reads its token from session storage: here, the token of the call in this thread."""

    def get(self, key: str, default: str | None = None) -> str | None:
        return _call_token.get() or default

    def set(self, key: str, value: str, ttl: int | None = None) -> None:
        pass  # tokens are stored by SharedToken only

    def delete(self, key: str) -> None:
        pass


class _HttpSession(requests.Session):
    """requests has no default timeout, and a hung WeChat must not hold a worker thread forever."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=THREADS)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().request(method, url, **kwargs)


class _Client(WeChatClient):
    def __init__(self, api_base: str, appid: str, secret: str, timeout: float) -> None:
        super().__init__(appid, secret, session=_CallToken(), timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{api_base}cgi-bin/"
        self._http = _HttpSession(timeout)

    def fetch_access_token(self) -> dict:
        # Reached only if a call ran without a token from the store: refreshing here would bypass the lock.
        raise RuntimeError("WeChat access tokens come from the shared store (channels.wechat.tokens)")

    def fetch_new_token(self) -> dict:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        return self._fetch_access_token(url=f"{self.API_BASE_URL}token", params=params)


class WeChatApi:
    def __init__(
        self,
        *,
        api_base: str,
        oauth_base: str,
        appid: str,
        secret: str,
        tokens: TokenBackend,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self._api_base = api_base if api_base.endswith("/") else api_base + "/"
        self._oauth_base = oauth_base if oauth_base.endswith("/") else oauth_base + "/"
        self.appid = appid
        self._secret = secret
        self._timeout = timeout
        self._client = _Client(self._api_base, appid, secret, timeout)
        self._pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="wechat-api")
        self.tokens = SharedToken(tokens, self._fetch_token)

    # -- calls -----------------------------------------------------------------------------------

    async def send_text(self, openid: str, content: str) -> dict:
        return await self.call(lambda c: c.message.send_text(openid, content))

    async def send_news(self, openid: str, articles: list[dict]) -> dict:
        return await self.call(lambda c: c.message.send_articles(openid, articles))

    async def send_template(self, openid: str, template_id: str, data: dict, url: str | None) -> dict:
        return await self.call(lambda c: c.message.send_template(openid, template_id, data, url=url))

    async def create_menu(self, menu: dict) -> dict:
        return await self.call(lambda c: c.menu.create(menu))

    async def call(self, fn: Callable[[WeChatClient], T]) -> T:
        token = await self.tokens.current()
        try:
            return await self._run(_with_token, token, fn, self._client)
        except WeChatError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        await self.tokens.invalidate(token)  # once for every process that holds it
        return await self._run(_with_token, await self.tokens.current(), fn, self._client)

    # -- web authorisation (snsapi_base) ---------------------------------------------------------

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        oauth = WeChatOAuth(self.appid, self._secret, redirect_uri, scope="snsapi_base", state=state)
        oauth.OAUTH_BASE_URL = self._oauth_base
        return oauth.authorize_url

    async def openid_for_code(self, code: str) -> str:
        def exchange() -> dict:
            oauth = WeChatOAuth(self.appid, self._secret, redirect_uri="")
            oauth.API_BASE_URL = self._api_base
            oauth._http = _HttpSession(self._timeout)
            return oauth.fetch_access_token(code)

        return (await self._run(exchange))["openid"]

    # -- plumbing --------------------------------------------------------------------------------

    async def _fetch_token(self) -> tuple[str, int]:
        result = await self._run(self._client.fetch_new_token)
        return result["access_token"], int(result.get("expires_in", 7200))

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(fn, *args))
        except WeChatClientException as exc:
            raise WeChatError(exc.errcode, str(exc.errmsg)[:200]) from None
        except requests.RequestException as exc:
            # The message of a requests error names the URL, and WeChat's URLs carry the token.
            raise WeChatError(None, f"WeChat unreachable ({type(exc).__name__})") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client._http.close()


def _with_token(token: str, fn: Callable[[WeChatClient], T], client: WeChatClient) -> T:
    reset = _call_token.set(token)
    try:
        return fn(client)
    finally:
        _call_token.reset(reset)


Closer = Callable[[], Awaitable[None]]


def build_api(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> tuple[WeChatApi, list[Closer]]:
    """The API client with the token in Redis when configured (several instances), else in the database."""
    closers: list[Closer] = []
    backend: TokenBackend
    if settings.redis_url:
        backend = RedisTokens(settings.redis_url, settings.wechat_appid)
        closers.append(backend.close)
    else:
        backend = DatabaseTokens(sessions, settings.wechat_appid)
    api = WeChatApi(
        api_base=settings.wechat_api_base,
        oauth_base=settings.wechat_oauth_base,
        appid=settings.wechat_appid,
        secret=settings.wechat_secret.get_secret_value(),
        tokens=backend,
    )

    async def close_api() -> None:
        api.close()

    return api, [close_api, *closers]
