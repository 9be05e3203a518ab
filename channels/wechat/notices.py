"""Template notices (模板消息): a repayment reminder, a finished application, with a link. WeChat
sends these outside the 48-hour window, to followers only. Every notice is recorded with WeChat's
verdict: accepted (and later, through WeChat's job-finished event, delivered or not) or its errcode.

    record = await send_template_notice(services.get(WeChat), openid=…, template_id=…,
                                        data={"first": "您的公积金贷款本月还款日为…", "keyword1": "…"},
                                        url="/wechat/articles/loan-repayment")
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.wechat.api import WeChatApi, WeChatError
from channels.wechat.models import DeliveryKind, DeliveryStatus, WeChatDelivery
from channels.wechat.render import Renderer
from conversations.models import Channel, Identity

log = logging.getLogger(__name__)


class NoWeChatIdentity(LookupError):
    pass


class NoticeLine(Protocol):
    """What a notice needs of the channel: the running WeChat has it, and so does a process (the
    campaign worker) that sends notices without serving WeChat."""

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def api(self) -> WeChatApi: ...

    @property
    def renderer(self) -> Renderer: ...


async def send_template_notice(
    wechat: NoticeLine,
    *,
    template_id: str,
    data: dict[str, str | dict],
    openid: str | None = None,
    citizen_id: str | None = None,
    url: str | None = None,
) -> WeChatDelivery:
    """Send one template message to `openid` (or the citizen's WeChat identity) and return its record.
    WeChat's refusals (43004 not a follower, 40037 unknown template, …) do not raise: the record says
    `failed` with the errcode. `data` values may be plain text or WeChat's {"value", "color"}."""
    if (openid is None) == (citizen_id is None):
        raise ValueError("give exactly one of openid or citizen_id")
    if openid is None:
        openid = await _openid_of(wechat.sessions, citizen_id)
    link = wechat.renderer.absolute(url) if url else None
    fields = {key: value if isinstance(value, dict) else {"value": value} for key, value in data.items()}
    record = WeChatDelivery(
        kind=DeliveryKind.TEMPLATE, openid=openid, template_id=template_id, payload={"data": fields, "url": link}
    )
    try:
        result = await wechat.api.send_template(openid, template_id, fields, link)
        record.status, record.errcode, record.wechat_msgid = DeliveryStatus.SENT, 0, result.get("msgid")
    except WeChatError as exc:
        record.status, record.errcode, record.errmsg = DeliveryStatus.FAILED, exc.errcode, exc.errmsg[:200]
        log.warning("wechat: template notice %s refused: errcode %s", template_id, exc.errcode)
    async with wechat.sessions() as session:
        session.add(record)
        await session.commit()
    return record


async def _openid_of(sessions: async_sessionmaker[AsyncSession], citizen_id: str | None) -> str:
    async with sessions() as session:
        openid = await session.scalar(
            select(Identity.value).where(Identity.citizen_id == citizen_id, Identity.kind == Channel.WECHAT).limit(1)
        )
    if openid is None:
        raise NoWeChatIdentity(f"citizen {citizen_id} has no WeChat identity")
    return openid


async def record_job_finished(sessions: async_sessionmaker[AsyncSession], *, msgid: int, status: str) -> None:
    """WeChat's TEMPLATESENDJOBFINISH event: "success", or "failed:user block", "failed: system failed"."""
    delivered = status == "success"
    async with sessions() as session:
        await session.execute(
            update(WeChatDelivery)
            .where(WeChatDelivery.kind == DeliveryKind.TEMPLATE, WeChatDelivery.wechat_msgid == msgid)
            .values(
                status=DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED,
                errmsg=None if delivered else status[:200],
            )
        )
        await session.commit()


JobListener = Callable[[int, str], Awaitable[None]]


@dataclass
class TemplateJobs:
    """Who else hears of a template message's fate (msgid, WeChat's status), after the channel's own
    record: the campaign engine, whose notices are sent by its own processes, registers here at start
    (provided on the services; the channel starts after it and finds it on each event)."""

    listeners: list[JobListener] = field(default_factory=list)

    async def finished(self, msgid: int, status: str) -> None:
        for listener in self.listeners:
            try:
                await listener(msgid, status)
            except Exception:  # one listener's fault never turns into an error WeChat would retry
                log.exception("wechat: a template job listener failed (msgid %s)", msgid)
