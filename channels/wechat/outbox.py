"""Messages no WeChat request is waiting for — late answers, agents' replies, queue updates, rating
requests — sent through the customer-service API, in order per citizen, each recorded with WeChat's
verdict. Beyond WeChat's 48-hour window (errcode 45015) the agent is told, in the conversation, that
the citizen cannot be reached on WeChat and which other channels are on file.
"""
from __future__ import annotations

import asyncio
import logging
import weakref

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from channels.wechat.api import WeChatApi, WeChatError
from channels.wechat.background import Background
from channels.wechat.models import DeliveryKind, DeliveryStatus, WeChatDelivery
from channels.wechat.render import NewsOut, Out, Renderer, TextOut
from conversations.events import DeliveryFailed
from conversations.hub import Hub, Sent, conversation_topic
from conversations.models import Author, Channel, Conversation, Identity, Message
from conversations.replies import Reply
from core.bus import EventBus
from core.logmask import mask_personal

log = logging.getLogger(__name__)

OUT_OF_WINDOW = 45015  # "response out of time limit": the citizen's last message is over 48 hours old
IDENTITY_LABELS = {"phone": "电话", "app": "App", "web": "网页"}


class Outbox:
    def __init__(
        self,
        *,
        api: WeChatApi,
        sessions: async_sessionmaker[AsyncSession],
        hub: Hub,
        bus: EventBus,
        renderer: Renderer,
        background: Background,
    ) -> None:
        self._api = api
        self._sessions = sessions
        self._hub = hub
        self._bus = bus
        self._renderer = renderer
        self._background = background
        self._order: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def push(self, sent: Sent) -> None:
        """The hub's pusher for WeChat: returns at once; delivery follows in order."""
        self._background.spawn(self._push(sent), name=f"wechat-push-{sent.message.id}")

    async def _push(self, sent: Sent) -> None:
        message = sent.message
        openid = await self._openid_for(message.conversation_id)
        if openid is None:
            log.warning("wechat: conversation %s has no WeChat identity; message %s not pushed",
                        message.conversation_id, message.id)
            return
        outs = self._renderer.render([sent.reply])
        refused = await self.deliver(openid, outs, message_id=message.id)
        if refused == OUT_OF_WINDOW and message.author == Author.AGENT:
            await self._tell_agent_unreachable(message)

    async def deliver(self, openid: str, outs: list[Out], *, message_id: int | None) -> int | None:
        """Send in order, stopping at the first refusal: None if all went, else WeChat's errcode
        (-1 when WeChat could not be reached)."""
        lock = self._order.setdefault(openid, asyncio.Lock())
        async with lock:
            for out in outs:
                try:
                    if isinstance(out, TextOut):
                        await self._api.send_text(openid, out.content)
                    else:
                        await self._api.send_news(openid, [_article(out)])
                except WeChatError as exc:
                    await self._record(openid, message_id, out, exc)
                    log.warning("wechat: push of message %s refused: errcode %s", message_id, exc.errcode)
                    return exc.errcode if exc.errcode is not None else -1
                await self._record(openid, message_id, out, None)
        return None

    async def _record(self, openid: str, message_id: int | None, out: Out, error: WeChatError | None) -> None:
        async with self._sessions() as session:
            session.add(
                WeChatDelivery(
                    kind=DeliveryKind.CUSTOM,
                    openid=openid,
                    message_id=message_id,
                    payload={"msgtype": "text" if isinstance(out, TextOut) else "news"},
                    status=DeliveryStatus.FAILED if error else DeliveryStatus.SENT,
                    errcode=error.errcode if error else 0,
                    errmsg=error.errmsg[:200] if error else None,
                )
            )
            await session.commit()

    async def _openid_for(self, conversation_id: str) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(Identity.value)
                .join(Conversation, Conversation.citizen_id == Identity.citizen_id)
                .where(Conversation.id == conversation_id, Identity.kind == Channel.WECHAT)
                .limit(1)
            )

    async def _tell_agent_unreachable(self, message: Message) -> None:
        others = await self._other_channels(message.conversation_id)
        text = f"该市民超过48小时未在公众号发消息，微信无法送达您的回复（错误码{OUT_OF_WINDOW}）。"
        if others:
            text += "可改用：" + "；".join(f"{o['label']} {o['value']}".strip() for o in others) + "。"
        else:
            text += "系统中没有该市民的其他联系方式；市民再次在公众号发消息后即可回复。"
        meta = {
            "audience": "agent", "undelivered_message_id": message.id, "errcode": OUT_OF_WINDOW, "reachable": others
        }
        notice = await self._hub.send(message.conversation_id, Channel.WECHAT, Author.SYSTEM, Reply(text, meta=meta))
        await self._bus.publish(
            conversation_topic(message.conversation_id),
            DeliveryFailed(channel=Channel.WECHAT, message_id=message.id, errcode=OUT_OF_WINDOW, reachable=others,
                           notice_id=notice.id),
        )

    async def _other_channels(self, conversation_id: str) -> list[dict]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(Identity.kind, Identity.value)
                .join(Conversation, Conversation.citizen_id == Identity.citizen_id)
                .where(Conversation.id == conversation_id, Identity.kind != Channel.WECHAT)
                .order_by(Identity.id)
            )
            found = []
            for kind, value in rows:
                # A phone number is shown masked (the console looks up the full one); web and app ids
                # mean nothing to people, so only the channel is named.
                shown = mask_personal(value) if kind == "phone" else ""
                found.append({"kind": kind, "label": IDENTITY_LABELS.get(kind, kind), "value": shown})
            return found


def _article(out: NewsOut) -> dict:
    return {"title": out.title, "description": out.description, "url": out.url, "image": out.image}
