"""The bot's answers, personal: a link to an online business form in an answer to a citizen the centre
knows (a depositor linked to them) becomes their own 一点就能办 link, with their facts and the checklist
the data already answered. Citizens the centre does not know keep the generic form link: a personal
page would have nothing personal on it.

Registered on the hub at start (conversations cannot import outreach); the hub bounds its time and
keeps the generic link if anything here fails.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.models import Conversation
from conversations.replies import Reply
from outreach import funnel, links
from outreach.context import Outreach
from outreach.link_people import citizen_facts
from outreach.models import DepositorLink, OutreachLink

# A link the bot gave the same citizen for the same business is given again while it has this long left,
# so asking twice does not pile up links.
REUSE_IF_LEFT = timedelta(days=1)
LOOKUP_TIMEOUT_S = 0.5


class LinkPersonaliser:
    def __init__(self, outreach: Outreach) -> None:
        self._outreach = outreach

    async def __call__(self, conversation: Conversation, reply: Reply) -> Reply:
        settings = self._outreach.settings
        by_url = {offered.url: offered for offered in links.businesses(settings).values()}
        if not any(link.get("url") in by_url for link in reply.links):
            return reply
        async with self._outreach.sessions() as session:
            ref = await session.scalar(
                select(DepositorLink.depositor_ref).where(DepositorLink.citizen_id == conversation.citizen_id).limit(1))
            if ref is None:
                return reply
            rewritten = []
            for link in reply.links:
                offered = by_url.get(link.get("url", ""))
                if offered is None:
                    rewritten.append(link)
                    continue
                url = await self._personal_url(session, conversation, ref, offered)
                rewritten.append({**link, "url": url})
            await session.commit()
        return Reply(text=reply.text, buttons=reply.buttons, links=rewritten, sources=reply.sources,
                     meta={**reply.meta, "personal_links": True})

    async def _personal_url(self, session: AsyncSession, conversation: Conversation, ref: str,
                            offered: links.Business) -> str:
        now = self._outreach.clock.now()
        settings = self._outreach.settings
        reusable = await session.scalar(
            select(OutreachLink.id).where(
                OutreachLink.citizen_id == conversation.citizen_id, OutreachLink.business == offered.key,
                OutreachLink.channel == conversation.channel, OutreachLink.created_by.is_(None),
                OutreachLink.campaign_id.is_(None), OutreachLink.revoked_at.is_(None),
                OutreachLink.expires_at > now + REUSE_IF_LEFT,
            ).order_by(OutreachLink.expires_at.desc()).limit(1))
        if reusable is not None:
            return links.url_for(settings, reusable)
        # What a campaign already worked out for this person and business (facts, the data's answers) is
        # the best there is; the centre's data is asked only when there is none.
        earlier = await session.scalar(
            select(OutreachLink).where(OutreachLink.citizen_id == conversation.citizen_id,
                                       OutreachLink.business == offered.key, OutreachLink.campaign_id.is_not(None))
            .order_by(OutreachLink.created_at.desc()).limit(1))
        if earlier is not None:
            facts, answers, checklist = dict(earlier.facts or {}), dict(earlier.answers or {}), earlier.checklist
        else:
            _, facts = await citizen_facts(session, settings, conversation.citizen_id, timeout_s=LOOKUP_TIMEOUT_S)
            answers, checklist = {}, None
        row, issued = links.new_link(settings, business=offered.key, now=now, citizen_id=conversation.citizen_id,
                                     depositor_ref=ref, facts=facts, answers=answers, checklist=checklist,
                                     channel=conversation.channel)
        session.add(row)
        await session.flush()
        await funnel.record(session, subject=funnel.link_subject(row.id), stage=funnel.Stage.SENT, campaign_id=None,
                            segment=None, channel=conversation.channel, business=offered.key, at=now)
        return issued.url
