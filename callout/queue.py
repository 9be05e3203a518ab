"""The dialer's work on a task queue (Huey): dispatch a campaign now or at a time, send a fall-back SMS,
and once a minute make sure every running campaign has a dispatcher.

Huey keeps its queue and schedule in SQLite (a file in DATA_DIR: the embedded default, nothing to
install) or in Redis (REDIS_URL, for several service and worker processes). Its workers run inside
each service process (CALLOUT_WORKERS threads) or as separate `python -m callout.worker` processes.

Huey hands a task to one worker and forgets it, so a worker killed mid-task loses that task. Nothing
else is lost: what matters lives in the database (claims, attempts, leases), so the next dispatcher,
started by the minute's sweep, by a call's end or at start, carries on where the dead one stopped.

Huey's tasks are plain functions run in its worker threads; the dialer is async. Each task runs its
coroutine on the event loop of its process (the service's own loop, or the worker's) and waits.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from concurrent.futures import Future
from datetime import datetime, timezone
from typing import Any, TypeVar

from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy import select

from callout import retention
from callout.context import Callout
from callout.dialer import Dialer
from callout.models import Campaign, CampaignStatus
from callout.policy_events import PolicyEvents
from callout.schedule import plan_of
from conversations import retention as conversation_retention
from core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
TASK_TIMEOUT_S = 300.0


def make_huey(settings: Settings) -> Huey:
    kind = settings.callout_queue or ("redis" if settings.redis_url else "sqlite")
    if kind == "redis":
        if not settings.redis_url:
            raise ValueError("CALLOUT_QUEUE=redis needs REDIS_URL")
        return RedisHuey("hpf-callout", url=settings.redis_url, results=False, utc=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("hpf-callout", filename=str(settings.data_dir / "callout-queue.db"), results=False, utc=True)


class _ServiceConsumer(Consumer):
    """Huey's consumer inside the service: the web server owns the process's signals."""

    def _set_signal_handlers(self) -> None:
        return None


class CalloutQueue:
    """The task queue's side of the engine (`callout.context.Dispatcher`): enqueue, and run tasks."""

    def __init__(self, settings: Settings) -> None:
        self.huey = make_huey(settings)
        self._callout: Callout | None = None
        self._dialer: Dialer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Consumer | None = None
        self._events: PolicyEvents | None = None
        self._dispatch_task = self.huey.task(name="callout_dispatch")(self._run_dispatch)
        self._fallback_task = self.huey.task(name="callout_fallback")(self._run_fallback)
        self.huey.periodic_task(crontab(minute="*"), name="callout_sweep")(self._run_sweep)
        # Daily, at 03:30 in Asia/Shanghai (Huey's crontab reads UTC here): out of calling hours.
        self.huey.periodic_task(crontab(minute="30", hour="19"), name="callout_retention")(self._run_retention)
        # A rate change or a policy article → a draft campaign (callout/policy_events.py): at start and
        # every five minutes; the event's unique key keeps it once however many processes look.
        self._events_task = self.huey.task(name="outreach_policy_events")(self._run_policy_events)
        self.huey.periodic_task(crontab(minute="*/5"), name="outreach_policy_events_tick")(self._run_policy_events)

    def bind(self, callout: Callout, loop: asyncio.AbstractEventLoop) -> None:
        """The engine this process runs tasks for, and the event loop its coroutines run on."""
        self._callout, self._dialer, self._loop = callout, Dialer(callout), loop
        self._events = PolicyEvents(callout)

    # -- enqueueing (any thread) -------------------------------------------------------------------

    def dispatch(self, campaign_id: int, eta: datetime | None = None) -> None:
        if eta is None or eta <= datetime.now(timezone.utc):
            self._dispatch_task(campaign_id)
        else:
            self._dispatch_task.schedule(args=(campaign_id,), eta=eta)

    def fallback(self, recipient_id: int) -> None:
        self._fallback_task(recipient_id)

    def check_policy_events(self) -> None:
        """Look for policy events now, on a worker (not in the caller's request or start-up)."""
        self._events_task()

    async def resume_running(self) -> None:
        """A dispatcher for every running campaign: after a restart the run goes on where it was."""
        for campaign_id in await self._running():
            self.dispatch(campaign_id)

    async def _running(self, *, open_now: bool = False) -> list[int]:
        """The running campaigns; with `open_now`, only those inside a calling window now (the others
        already have a dispatcher waiting for their next window: the sweep need not add one a minute)."""
        assert self._callout is not None
        async with self._callout.sessions() as session:
            query = select(Campaign).where(Campaign.status == CampaignStatus.RUNNING)
            running = list((await session.scalars(query)).all())
        now = self._callout.clock.now()
        return [c.id for c in running if not open_now or plan_of(c, self._callout.settings).is_open(now)]

    # -- the tasks (Huey's worker threads) ----------------------------------------------------------

    def _await(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None or self._dialer is None:
            coroutine.close()
            raise RuntimeError("the callout queue runs tasks only once bound to an engine (CalloutQueue.bind)")
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout=TASK_TIMEOUT_S)

    def _bound_dialer(self) -> Dialer:
        if self._dialer is None:
            raise RuntimeError("the callout queue runs tasks only once bound to an engine (CalloutQueue.bind)")
        return self._dialer

    def _run_dispatch(self, campaign_id: int) -> None:
        again = self._await(self._bound_dialer().dispatch(campaign_id))
        if again is not None:
            self.dispatch(campaign_id, eta=again)

    def _run_fallback(self, recipient_id: int) -> None:
        self._await(self._bound_dialer().send_fallback(recipient_id))

    def _run_retention(self) -> None:
        if self._callout is None:
            raise RuntimeError("the callout queue runs tasks only once bound to an engine (CalloutQueue.bind)")
        self._await(retention.purge(self._callout))
        callout = self._callout
        self._await(conversation_retention.purge(callout.sessions, callout.clock.now(),
                                                 callout.settings.conversation_retention_days))

    def _run_policy_events(self) -> None:
        if self._events is None:
            raise RuntimeError("the callout queue runs tasks only once bound to an engine (CalloutQueue.bind)")
        self._await(self._events.check())

    def _run_sweep(self) -> None:
        for campaign_id in self._await(self._running(open_now=True)):
            self.dispatch(campaign_id)

    # -- workers inside this process ----------------------------------------------------------------

    def start_workers(self, workers: int) -> None:
        """Huey's worker threads and scheduler in this process (the service's embedded mode)."""
        self._consumer = _ServiceConsumer(self.huey, workers=workers, worker_type="thread", periodic=True,
                                          initial_delay=0.1, backoff=1.15, max_delay=1.0, scheduler_interval=1,
                                          check_worker_health=False, shutdown_timeout=10.0)
        self._consumer.start()
        log.info("callout queue: %s worker threads in this process", workers)

    async def stop_workers(self) -> None:
        """Let running tasks finish (their coroutines need this loop, so wait off it)."""
        if self._consumer is not None:
            await asyncio.to_thread(self._consumer.stop, True)
            self._consumer = None
        self.huey.storage.close()

    def consumer(self, workers: int) -> Consumer:
        """Huey's consumer for a separate worker process (which owns its signals)."""
        return Consumer(self.huey, workers=workers, worker_type="thread", periodic=True, initial_delay=0.1,
                        backoff=1.15, max_delay=1.0, scheduler_interval=1, flush_locks=False)
