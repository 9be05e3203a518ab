"""The campaign engine in the service: its context, the task queue (with its workers here unless
CALLOUT_WORKERS=0) and a dispatcher for every campaign that was running when the service stopped."""
from __future__ import annotations

import asyncio
from functools import partial

from sqlalchemy.ext.asyncio import async_sessionmaker

from callout import delivery
from callout.context import Callout
from callout.funnel_campaigns import campaign_infos
from callout.notices import WeChatNotices
from callout.provider import TwilioProvider, missing_settings
from callout.push import AppPush
from callout.queue import CalloutQueue
from callout.wechat_optout import WeChatOptOut
from channels.wechat.notices import TemplateJobs
from conversations.hub import Hub
from core.clock import SystemClock
from core.metrics import watch_queue_depth
from core.services import Services
from core.settings import Settings
from outreach import funnel


def build(settings: Settings, sessions: async_sessionmaker) -> tuple[Callout, CalloutQueue]:
    """The engine and its queue for this process (the service, or a worker)."""
    queue = CalloutQueue(settings)
    provider = TwilioProvider(settings) if not missing_settings(settings) else None
    notices = WeChatNotices(settings, sessions) if WeChatNotices.configured(settings) else None
    push = AppPush(settings) if AppPush.configured(settings) else None
    callout = Callout(settings=settings, sessions=sessions, clock=SystemClock(), queue=queue, provider=provider,
                      notices=notices, push=push)
    return callout, queue


async def start(services: Services) -> None:
    settings = services.get(Settings)
    callout, queue = build(settings, services.get(async_sessionmaker))
    queue.bind(callout, asyncio.get_running_loop())
    services.provide(Callout, callout)
    services.provide(CalloutQueue, queue)
    watch_queue_depth(queue.huey.pending_count)  # asked at each scrape of /metrics
    # A campaign's WeChat template delivered (WeChat's job-finished event, which the channel receives).
    services.provide(TemplateJobs, TemplateJobs([partial(delivery.on_template_finished, callout)]))
    services.provide(funnel.Campaigns, campaign_infos)  # the funnel's campaign names and preparers
    if (hub := services.find(Hub)) is not None:  # 退订 sent on WeChat: the list, not the bot
        hub.register_interceptor(WeChatOptOut(settings, callout.sessions))
    if settings.callout_workers:
        queue.start_workers(settings.callout_workers)
    await queue.resume_running()
    queue.check_policy_events()  # a rate change or a policy article while the service was down


async def stop(services: Services) -> None:
    if (queue := services.find(CalloutQueue)) is not None:
        await queue.stop_workers()
    callout = services.find(Callout)
    if callout is not None and isinstance(callout.notices, WeChatNotices):
        await callout.notices.close()
    if callout is not None and isinstance(callout.push, AppPush):
        await callout.push.close()
