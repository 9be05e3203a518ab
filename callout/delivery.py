"""One campaign message on its channel (sms, wechat, push, card): what the dialer's claimed attempt does
instead of placing a call.

`send()` answers sent (with the provider's id where there is one) or unreachable (no way to this person
on the channel: no linked WeChat follower, no app user, no citizen for a card), and raises
`ProviderError` for a refusal, which the dialer settles as it does a refused call: PASSING is tried again
later without counting, CONFIG pauses the campaign, the others end the person's attempts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from callout import messages
from callout.context import Callout
from callout.models import Attempt, Campaign, CampaignChannel, Fallback, Outcome, Recipient
from callout.provider import Fault, ProviderError
from conversations.models import Channel, Identity
from outreach import funnel
from outreach.cards import post_card
from outreach.models import OutreachLink

WECHAT_SID = "wx:"  # an attempt's provider id for a template message: "wx:<msgid>"
# WeChat's errcodes for a template message, by what the dialer does about them.
WECHAT_PASSING = frozenset({-1, 45009, 45047})  # busy, daily quota, too many at once: later
WECHAT_CONFIG = frozenset({40001, 40037, 40013, 42001, 48001})  # our token, template or rights: pause
WECHAT_UNREACHABLE = frozenset({43004, 43101, 40003})  # not a follower, refuses notices, unknown openid


@dataclass(frozen=True)
class Sent:
    sent: bool
    sid: str | None = None
    reason: str | None = None  # why unreachable
    channel: str | None = None  # the channel it went by, when not the campaign's (WeChat's SMS fall-back)


class Delivery:
    def __init__(self, callout: Callout, campaign: Campaign, recipient: Recipient, attempt_id: int) -> None:
        self._callout, self._campaign, self._recipient, self._attempt_id = callout, campaign, recipient, attempt_id

    async def send(self) -> Sent:
        channel = self._campaign.channel
        if channel == CampaignChannel.SMS:
            return await self._sms()
        if channel == CampaignChannel.WECHAT:
            return await self._wechat()
        if channel == CampaignChannel.PUSH:
            return await self._push()
        if channel == CampaignChannel.CARD:
            return await self._card()
        raise ProviderError(Fault.CONFIG, None, f"unknown channel {channel}")

    def _text(self) -> str:
        return render(self._campaign.message, self._recipient)

    async def _sms(self, body: str | None = None) -> Sent:
        provider = self._callout.provider
        if provider is None:
            raise ProviderError(Fault.CONFIG, None, "SMS is not configured")
        base = self._callout.settings.public_base_url.rstrip("/")
        sid = await provider.send_text(to=self._recipient.phone, body=body or self._text(),
                                       status_callback=f"{base}/callout/twilio/sms-status?a={self._attempt_id}")
        return Sent(True, sid, channel=CampaignChannel.SMS)

    async def _wechat(self) -> Sent:
        notices = self._callout.notices
        if notices is None:
            raise ProviderError(Fault.CONFIG, None, "WeChat is not configured")
        data = {key: render(text, self._recipient) for key, text in (self._campaign.wechat_data or {}).items()}
        found = await notices.send(self._recipient.phone, self._campaign.wechat_template_id or "", data,
                                   citizen_id=self._recipient.citizen_id)
        if found.sent:  # its job-finished event finds the attempt by this id (`on_template_finished`)
            return Sent(True, f"{WECHAT_SID}{found.msgid}" if found.msgid is not None else None)
        if found.reason == "no_wechat" or found.errcode in WECHAT_UNREACHABLE:
            if self._campaign.fallback == Fallback.WECHAT_THEN_SMS and self._campaign.sms_message:
                return await self._sms(render(self._campaign.sms_message, self._recipient))  # 先微信后短信
            return Sent(False, reason=f"wechat: {found.reason}"[:200])
        fault = Fault.PASSING if found.errcode in WECHAT_PASSING else \
            Fault.CONFIG if found.errcode in WECHAT_CONFIG else Fault.NUMBER
        raise ProviderError(fault, found.errcode, found.reason or "refused")

    async def _push(self) -> Sent:
        push = self._callout.push
        if push is None:
            raise ProviderError(Fault.CONFIG, None, "app push is not configured (APP_PUSH_URL)")
        user_id = await self._identity(Channel.APP)
        if user_id is None:
            return Sent(False, reason="no app user")
        await push.send(user_id=user_id, title=self._campaign.name, body=self._text(),
                        url=self._recipient.variables.get("link") or None, attempt_id=self._attempt_id)
        return Sent(True)

    async def _card(self) -> Sent:
        citizen_id = self._recipient.citizen_id
        if citizen_id is None:
            return Sent(False, reason="no citizen")
        now = self._callout.clock.now()
        async with self._callout.sessions() as session:
            expires_at = None
            if self._recipient.link_id:
                expires_at = await session.scalar(
                    select(OutreachLink.expires_at).where(OutreachLink.id == self._recipient.link_id))
            # A card without a link lasts as long as a link would.
            expires_at = expires_at or now + timedelta(seconds=self._callout.settings.outreach_link_ttl_s)
            # None: this recipient's card is there already (a retried delivery): sent all the same.
            await post_card(session, citizen_id=citizen_id, business=self._campaign.business or "",
                            title=self._campaign.name, text=self._text(), link_id=self._recipient.link_id,
                            campaign_id=self._campaign.id, recipient_id=self._recipient.id, expires_at=expires_at)
            await session.commit()
        return Sent(True)

    async def _identity(self, kind: Channel) -> str | None:
        """The citizen's latest identity of this kind: by the recipient's citizen, else by their number."""
        async with self._callout.sessions() as session:
            citizen = self._recipient.citizen_id or await session.scalar(select(Identity.citizen_id).where(
                Identity.kind == Channel.PHONE, Identity.value == self._recipient.phone).limit(1))
            if citizen is None:
                return None
            return await session.scalar(
                select(Identity.value).where(Identity.citizen_id == citizen, Identity.kind == kind)
                .order_by(Identity.created_at.desc(), Identity.id.desc()).limit(1))


def render(text: str, recipient: Recipient) -> str:
    return messages.parse(text or "", what="message").render({**recipient.variables, "name": recipient.name})


# Twilio's MessageStatus values that end a message's journey.
MESSAGE_DELIVERED = "delivered"
MESSAGE_LOST = frozenset({"undelivered", "failed"})


async def on_message_status(callout: Callout, attempt_id: int, status: str, error_code: int | None) -> None:
    """Twilio's status callback for a campaign SMS: delivered → the funnel's delivered stage;
    undelivered or failed → the attempt and the person's outcome say so. Earlier statuses (queued, sent)
    never overwrite a final one; a repeated callback changes nothing."""
    now = callout.clock.now()
    async with callout.sessions() as session:
        attempt = await session.get_one(Attempt, attempt_id)
        if attempt.status in (MESSAGE_DELIVERED, *MESSAGE_LOST):
            return
        if status == MESSAGE_DELIVERED:
            campaign = await session.get_one(Campaign, attempt.campaign_id)
            await funnel.record(session, subject=funnel.recipient_subject(attempt.recipient_id),
                                stage=funnel.Stage.DELIVERED, campaign_id=campaign.id, segment=campaign.segment,
                                channel=attempt.channel, business=campaign.business, at=now)
            attempt.status = status
        elif status in MESSAGE_LOST:
            attempt.status, attempt.outcome, attempt.error_code = status, Outcome.FAILED, error_code
            await session.execute(
                update(Recipient).where(Recipient.id == attempt.recipient_id, Recipient.outcome == Outcome.SENT)
                .values(outcome=Outcome.FAILED, updated_at=now).execution_options(synchronize_session=False))
        elif status:
            attempt.status = status[:20]
        await session.commit()


async def on_template_finished(callout: Callout, msgid: int, status: str) -> None:
    """WeChat's TEMPLATESENDJOBFINISH for a campaign's template message: "success" is delivered, anything
    else ("failed:user block", "failed: system failed") lost. Not a campaign's message: nothing."""
    async with callout.sessions() as session:
        attempt_id = await session.scalar(select(Attempt.id).where(Attempt.call_sid == f"{WECHAT_SID}{msgid}"))
    if attempt_id is not None:
        await on_message_status(callout, attempt_id, MESSAGE_DELIVERED if status == "success" else "failed", None)


async def attempt_exists(callout: Callout, attempt_id: int, *, channel: str) -> bool:
    async with callout.sessions() as session:
        return await session.scalar(select(Attempt.id).where(Attempt.id == attempt_id,
                                                             Attempt.channel == channel)) is not None
