"""The WeChat fall-back of a campaign: a template message (模板消息) to the follower a recipient's phone
number is linked to. A number and an openid are one citizen's when both are identities of the same
citizen (conversations' `identities`), as the channels record them; nobody is looked up by name.

Built in every process that runs the campaign queue (the service and `python -m callout.worker`), from
the settings alone, so a separate worker sends notices without serving WeChat.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callout.context import NoticeResult
from channels.wechat.api import WeChatApi, build_api
from channels.wechat.models import DeliveryStatus
from channels.wechat.notices import send_template_notice
from channels.wechat.render import Renderer
from conversations.models import Channel, Identity
from core.settings import Settings


@dataclass
class _Line:
    sessions: async_sessionmaker[AsyncSession]
    api: WeChatApi
    renderer: Renderer


class WeChatNotices:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        api, self._closers = build_api(settings, sessions)
        self._line = _Line(sessions=sessions, api=api, renderer=Renderer(settings.public_base_url))

    @staticmethod
    def configured(settings: Settings) -> bool:
        return bool(settings.wechat_appid and settings.wechat_secret.get_secret_value())

    async def send(self, phone: str, template_id: str, data: dict[str, str], *,
                   citizen_id: str | None = None) -> NoticeResult:
        openid = await self.openid_of(phone, citizen_id)
        if openid is None:
            return NoticeResult(sent=False, reason="no_wechat")
        record = await send_template_notice(self._line, openid=openid, template_id=template_id,
                                            data=dict(data))
        if record.status == DeliveryStatus.SENT:
            return NoticeResult(sent=True, msgid=record.wechat_msgid)
        return NoticeResult(sent=False, reason=(record.errmsg or "refused")[:200], errcode=record.errcode)

    async def openid_of(self, phone: str, citizen_id: str | None = None) -> str | None:
        """The latest WeChat identity of the citizen (when the campaign knows who it is) or of the citizen
        this number belongs to; None: not linked."""
        citizen = select(Identity.citizen_id).where(Identity.kind == Channel.PHONE, Identity.value == phone)
        whose = Identity.citizen_id == citizen_id if citizen_id else Identity.citizen_id.in_(citizen)
        async with self._line.sessions() as session:
            return await session.scalar(
                select(Identity.value)
                .where(Identity.kind == Channel.WECHAT, whose)
                .order_by(Identity.created_at.desc(), Identity.id.desc())
                .limit(1)
            )

    async def close(self) -> None:
        for close in self._closers:
            await close()
