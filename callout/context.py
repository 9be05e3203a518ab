"""What the campaign engine needs from the running process: settings, database, clock, and the task
queue that carries the dialer's work. The service and a separate worker each build one."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callout.provider import Provider
from core.clock import Clock, SystemClock
from core.settings import Settings


class Dispatcher(Protocol):
    """The task queue's side: run a campaign's dispatcher now or at `eta`, send a fall-back message."""

    def dispatch(self, campaign_id: int, eta: datetime | None = None) -> None: ...

    def fallback(self, recipient_id: int) -> None: ...


class NoQueue:
    """No task queue in this process (an API-only test): nothing is dispatched."""

    def dispatch(self, campaign_id: int, eta: datetime | None = None) -> None:
        return None

    def fallback(self, recipient_id: int) -> None:
        return None


@dataclass(frozen=True)
class NoticeResult:
    sent: bool
    reason: str | None = None  # no_wechat (no follower linked to the number) or WeChat's errmsg
    errcode: int | None = None
    msgid: int | None = None  # WeChat's id of the accepted message: its job-finished event names it


class TemplateNotices(Protocol):
    """The WeChat fall-back: a template message to the follower a phone number is linked to."""

    async def send(self, phone: str, template_id: str, data: dict[str, str], *,
                   citizen_id: str | None = None) -> NoticeResult: ...


class Pusher(Protocol):
    """App push (callout/push.py): raises ProviderError, passing or final, when not pushed."""

    async def send(self, *, user_id: str, title: str, body: str, url: str | None, attempt_id: int) -> None: ...


@dataclass
class Callout:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = field(default_factory=SystemClock)
    queue: Dispatcher = field(default_factory=NoQueue)
    provider: Provider | None = None  # None: outbound calls are not configured
    notices: TemplateNotices | None = None  # None: WeChat is not configured, no template fall-back
    push: Pusher | None = None  # None: APP_PUSH_URL is not set, no app push
