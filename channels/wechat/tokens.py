"""The account's access token, shared by every service process.

WeChat keeps one current token per account (the previous one lives about five more minutes), so
processes that each refresh on their own invalidate one another. Here one process refreshes at a
time: the holder of a lease taken with a conditional UPDATE (database) or SET NX (Redis). The others
wait for its result. Tokens are refreshed some minutes before WeChat's expiry, and on demand when
WeChat says a token is invalid (40001) or expired (42001). The token value is never logged.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.wechat.models import WeChatToken
from core.db import rowcount, utcnow

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)  # a token this close to expiry counts as stale
LEASE = timedelta(seconds=15)          # a refresher that dies frees the lock after this
POLL_S = 0.1

Fetch = Callable[[], Awaitable[tuple[str, int]]]  # → (access_token, expires_in seconds)


class TokenUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: datetime

    def fresh(self, now: datetime | None = None) -> bool:
        return self.expires_at - (now or utcnow()) > REFRESH_MARGIN


class TokenBackend(Protocol):
    async def read(self) -> Token | None: ...

    async def take_lease(self, owner: str) -> bool: ...

    async def write(self, owner: str, token: Token) -> None:
        """Store the token and free the lease, if `owner` still holds it."""

    async def release(self, owner: str) -> None: ...

    async def expire(self, value: str) -> None:
        """Mark the token stale if it is still the stored one (a newer one is left alone)."""


class SharedToken:
    def __init__(self, backend: TokenBackend, fetch: Fetch, *, wait_s: float = LEASE.total_seconds() + 5) -> None:
        self._backend = backend
        self._fetch = fetch
        self._wait_s = wait_s
        self._memo: Token | None = None
        self._local = asyncio.Lock()  # one coroutine per process talks to the shared store
        self._owner = uuid.uuid4().hex

    async def current(self) -> str:
        memo = self._memo
        if memo is not None and memo.fresh():
            return memo.value
        async with self._local:
            memo = self._memo
            if memo is not None and memo.fresh():
                return memo.value
            self._memo = await self._shared()
            return self._memo.value

    async def invalidate(self, value: str) -> None:
        """WeChat refused `value` (40001/42001): the next `current()` gets a new one, refreshed once
        however many processes saw the same refusal."""
        if self._memo is not None and self._memo.value == value:
            self._memo = None
        await self._backend.expire(value)

    async def _shared(self) -> Token:
        deadline = time.monotonic() + self._wait_s
        while True:
            stored = await self._backend.read()
            if stored is not None and stored.fresh():
                return stored
            if await self._backend.take_lease(self._owner):
                return await self._refresh()
            if time.monotonic() > deadline:
                raise TokenUnavailable("another process is refreshing the WeChat access token and has not finished")
            await asyncio.sleep(POLL_S)

    async def _refresh(self) -> Token:
        try:
            stored = await self._backend.read()
            if stored is not None and stored.fresh():  # refreshed between our read and our lease
                await self._backend.release(self._owner)
                return stored
            value, expires_in = await self._fetch()
        except BaseException:
            await self._backend.release(self._owner)
            raise
        token = Token(value, utcnow() + timedelta(seconds=expires_in))
        await self._backend.write(self._owner, token)
        log.info("WeChat access token refreshed (valid %d s)", expires_in)
        return token


class DatabaseTokens:
    """The token in the `wechat_tokens` row; the lease is a conditional UPDATE of that row."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], appid: str) -> None:
        self._sessions = sessions
        self._appid = appid

    async def read(self) -> Token | None:
        async with self._sessions() as session:
            row = await session.get(WeChatToken, self._appid)
            if row is None or not row.access_token or row.expires_at is None:
                return None
            return Token(row.access_token, row.expires_at)

    async def take_lease(self, owner: str) -> bool:
        now = utcnow()
        async with self._sessions() as session:
            await self._ensure_row(session)
            result = await session.execute(
                update(WeChatToken)
                .where(
                    WeChatToken.appid == self._appid,
                    or_(WeChatToken.lease_until.is_(None), WeChatToken.lease_until < now),
                )
                .values(lease_owner=owner, lease_until=now + LEASE)
            )
            await session.commit()
            return rowcount(result) == 1

    async def _ensure_row(self, session: AsyncSession) -> None:
        if await session.scalar(select(WeChatToken.appid).where(WeChatToken.appid == self._appid)):
            return
        session.add(WeChatToken(appid=self._appid))
        try:
            await session.commit()
        except IntegrityError:  # another process created it first
            await session.rollback()

    async def write(self, owner: str, token: Token) -> None:
        await self._update_owned(
            owner, access_token=token.value, expires_at=token.expires_at, refreshed_at=utcnow()
        )

    async def release(self, owner: str) -> None:
        await self._update_owned(owner)

    async def _update_owned(self, owner: str, **values: object) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(WeChatToken)
                .where(WeChatToken.appid == self._appid, WeChatToken.lease_owner == owner)
                .values(lease_owner=None, lease_until=None, **values)
            )
            await session.commit()

    async def expire(self, value: str) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(WeChatToken)
                .where(WeChatToken.appid == self._appid, WeChatToken.access_token == value)
                .values(expires_at=datetime(1970, 1, 1, tzinfo=timezone.utc))
            )
            await session.commit()


# Compare-and-set scripts: the check and the change happen in one step inside Redis.
_WRITE_IF_OWNER = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('DEL', KEYS[2])
end
"""
_RELEASE_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""
_EXPIRE_IF_CURRENT = """
local stored = redis.call('GET', KEYS[1])
if stored and cjson.decode(stored)['token'] == ARGV[1] then redis.call('DEL', KEYS[1]) end
"""


class RedisTokens:
    """The token under one key; the lease is a second key set with NX and a time to live."""

    def __init__(self, url: str, appid: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True)
        self._key = f"hpf:wechat:{appid}:token"
        self._lock = f"hpf:wechat:{appid}:refresh"

    async def read(self) -> Token | None:
        raw = await self._redis.get(self._key)
        if not raw:
            return None
        stored = json.loads(raw)
        return Token(stored["token"], datetime.fromtimestamp(stored["expires_at"], timezone.utc))

    async def take_lease(self, owner: str) -> bool:
        return bool(await self._redis.set(self._lock, owner, nx=True, px=int(LEASE.total_seconds() * 1000)))

    async def write(self, owner: str, token: Token) -> None:
        value = json.dumps({"token": token.value, "expires_at": token.expires_at.timestamp()})
        await self._redis.eval(_WRITE_IF_OWNER, 2, self._key, self._lock, owner, value)

    async def release(self, owner: str) -> None:
        await self._redis.eval(_RELEASE_IF_OWNER, 1, self._lock, owner)

    async def expire(self, value: str) -> None:
        await self._redis.eval(_EXPIRE_IF_CURRENT, 1, self._key, value)

    async def close(self) -> None:
        await self._redis.aclose()
