"""退订 by WeChat: a follower who sends just an unsubscribe word puts the mobile numbers linked to them
on the suppression list (the hub's interceptor, so the bot is not asked).

A follower is linked to a number when both are identities of the same citizen (conversations'
`identities`, as the channels record them), the same link the WeChat fall-back uses. Only a message
that is nothing but the word counts: "退订是什么意思" is a question and goes to the bot.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callout import phones, suppressions
from conversations.models import Channel, Conversation, Identity, Message
from conversations.replies import Reply
from core.settings import Settings


class WeChatOptOut:
    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._settings = settings
        self._sessions = sessions

    async def __call__(self, conversation: Conversation, message: Message, status: str) -> list[Reply] | None:
        if conversation.channel != Channel.WECHAT or not suppressions.is_opt_out(message.text):
            return None
        numbers = await self._linked_numbers(conversation.citizen_id)
        if not numbers:
            return [Reply(text=self._how_to(), meta={"unsubscribe": {"linked": False}})]
        evidence = {"channel": Channel.WECHAT.value, "said": message.text[:200],
                    "conversation_id": conversation.id, "message_id": message.id}
        for phone in numbers:
            await suppressions.add(self._sessions, phone, source="wechat", reason=message.text[:200],
                                   evidence=evidence)
        shown = "、".join(phones.mask(phone) for phone in numbers)
        return [Reply(
            text=f"您已退订：今后公积金中心不再向{shown}拨打外呼电话，也不再发送通知短信和微信通知。",
            meta={"unsubscribe": {"linked": True, "numbers": len(numbers)}},
        )]

    async def _linked_numbers(self, citizen_id: str) -> list[str]:
        """The mainland numbers of this citizen, normalised as the list keeps them; others are skipped."""
        async with self._sessions() as session:
            values = (await session.scalars(
                select(Identity.value)
                .where(Identity.citizen_id == citizen_id, Identity.kind == Channel.PHONE)
                .order_by(Identity.id)
            )).all()
        numbers: list[str] = []
        for value in values:
            try:
                phone = phones.normalise(value)
            except phones.BadNumber:
                continue  # a caller id that is no mainland mobile is nothing a campaign would dial
            if phone not in numbers:
                numbers.append(phone)
        return numbers

    def _how_to(self) -> str:
        caller_id = self._settings.twilio_caller_id
        sms = f"，或用接收通知的手机发送短信“退订”至{caller_id}" if caller_id else ""
        return ("您的微信尚未关联手机号，我们无法确定要退订的号码。请拨打"
                f"{self._settings.hotline}由工作人员为您登记不再来电{sms}。")
