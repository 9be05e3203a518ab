"""A campaign prepared from a segment: the people the rule matches become a draft campaign's recipients,
each linked to their citizen (outreach.identities) and given a personal 一点就能办 link (outreach.links),
with the segment's text for the chosen channel as the campaign's message.

It goes through `campaigns.create` like any other campaign (texts, windows, phone numbers, duplicates,
the suppression list, the audit entry) and needs the same second person's approval before it starts.
The links, the citizens and the segment's name commit in the same transaction as the campaign.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callout import campaigns, uploads
from callout.context import Callout
from callout.models import Campaign, Recipient
from callout.schemas import CampaignSpec
from core.errors import ApiError
from outreach.identities import LinkWanted, link_citizens
from outreach.links import MAX_TTL_S, new_link
from outreach.models import OutreachLink
from outreach.segments import Match, Segment
from staff import audit

CHANNEL_NAMES = {"voice": "外呼", "sms": "短信", "wechat": "微信模板消息", "push": "app 推送", "card": "个人页面卡片"}
# Push and cards reach a citizen, not a number: only depositors are linked to one.
CITIZEN_CHANNELS = frozenset({"push", "card"})
LINK = "link"
# A campaign's links must outlive the message's way to the person: at least a minute (an agent's link
# for a citizen on the line may be shorter, outreach.links.MIN_TTL_S).
MIN_TTL_S = 60
# Until the links are stored the list carries a stand-in, so that the engine's check of every
# variable's value sees one; the real URL is known before then and replaces it.
_PENDING = "-"


@dataclass(frozen=True)
class _By:
    """The account a segment campaign is prepared by (an agent, or the system for an event)."""

    id: int
    actor: audit.Actor


@dataclass
class Prepared:
    campaign: Campaign | None = None
    matched: int = 0  # everyone the rule matched
    without_mobile: int = 0  # matched but with no mobile in the centre's data: not in the campaign
    suppressed: int = 0
    rejected: list[dict] = field(default_factory=list)


def _spec(segment: Segment, channel: str, name: str, spec: CampaignSpec | None) -> CampaignSpec:
    text = segment.messages.get(channel)
    if not text:
        raise ApiError(422, "channel_text_missing",
                       f"分群“{segment.title}”没有{CHANNEL_NAMES.get(channel, channel)}的文字，"
                       "请换一个渠道或在分群文件中补上。",
                       field="channel")
    if channel in CITIZEN_CHANNELS and segment.audience != "depositors":
        raise ApiError(422, "channel_needs_citizen",
                       f"{CHANNEL_NAMES[channel]}只能发给缴存人本人，这个分群请选短信、微信或外呼。", field="channel")
    base = spec or CampaignSpec(name=name, message=text)
    update_: dict[str, object] = {"name": name, "message": text, "channel": channel}
    if channel == "voice" and not base.sms_message and segment.messages.get("sms"):
        update_["sms_message"] = segment.messages["sms"]  # the SMS after the last unanswered call
    if channel == "wechat" and not base.wechat_data:
        update_["wechat_data"] = {"first": text}
    # model_copy keeps the validated spec's other fields; the channel comes from the segment route's
    # own checked body.
    return base.model_copy(update=update_)


async def prepare_reported(
    callout: Callout, actor: audit.Actor, *, segment: Segment, matches: Iterable[Match], channel: str, name: str,
    ttl_s: int | None = None, created_by: int, spec: CampaignSpec | None = None,
) -> Prepared:
    """The draft campaign and what happened to the matches (no mobile, suppressed, rejected rows)."""
    if ttl_s is not None and not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise ApiError(422, "ttl_invalid", f"链接有效期须在{MIN_TTL_S}秒到{MAX_TTL_S // 86400}天之间。",
                       field="link_ttl_s")
    full = _spec(segment, channel, name, spec)
    report = Prepared()
    kept: dict[int, Match] = {}
    variables = [key for key in segment.variables if key not in ("name", LINK)]
    header = ["phone", "name", *variables, LINK]

    def rows() -> Iterator[uploads.Row]:
        for match in matches:
            report.matched += 1
            if not match.mobile:
                report.without_mobile += 1
                continue
            number = len(kept) + 1
            kept[number] = match
            values = {key: match.variables.get(key, "") for key in variables}
            yield uploads.Row(number, {"phone": match.mobile, "name": match.variables.get("name", ""), **values,
                                       LINK: _PENDING})

    now = callout.clock.now()

    async def attach(session: AsyncSession, campaign: Campaign) -> None:
        campaign.segment, campaign.business = segment.key, segment.business
        # In the segment's order: of two depositors sharing a mobile, the first is linked through it.
        found = (await session.execute(
            select(Recipient.id, Recipient.row).where(Recipient.campaign_id == campaign.id)
            .order_by(Recipient.row))).all()
        # Every depositor linked in one call (a few statements per few hundred people), not one by one.
        citizens = await link_citizens(session, [
            LinkWanted(match.depositor_ref, mobile=match.mobile, wechat_openid=match.wechat_openid,
                       app_user_id=match.app_user_id)
            for match in (kept[row] for _id, row in found) if match.depositor_ref is not None])
        changes: list[dict[str, object]] = []
        links: list[OutreachLink] = []
        for recipient_id, row in found:
            match = kept[row]
            citizen_id = citizens[match.depositor_ref] if match.depositor_ref is not None else None
            link, sent = new_link(
                callout.settings, business=segment.business, now=now, checklist=segment.checklist,
                citizen_id=citizen_id, depositor_ref=match.depositor_ref, facts=match.facts,
                answers=match.answers, ttl_s=ttl_s, campaign_id=campaign.id, recipient_id=recipient_id,
                segment=segment.key, channel=channel, created_by=created_by,
            )
            links.append(link)
            changes.append({"rid": recipient_id, "citizen": citizen_id, "lid": link.id,
                            "vars": _with_link(match, variables, sent.url)})
        session.add_all(links)
        await session.flush()
        if changes:
            # Core's executemany on the table: one statement for every recipient's citizen and link.
            table = cast(Table, Recipient.__table__)
            await session.execute(
                update(table).where(table.c.id == bindparam("rid"))
                .values(citizen_id=bindparam("citizen"), link_id=bindparam("lid"), variables=bindparam("vars")),
                changes,
            )
        audit.record(session, actor, "campaign_from_segment", f"campaign:{campaign.id}", segment=segment.key,
                     channel=channel, matched=report.matched, without_mobile=report.without_mobile,
                     links=len(changes))

    campaign, suppressed, rejected = await campaigns.create(callout, _By(created_by, actor), full, header, rows(),
                                                            before_commit=attach)
    report.campaign, report.suppressed, report.rejected = campaign, suppressed, rejected
    return report


def _with_link(match: Match, variables: list[str], url: str) -> dict[str, str]:
    return {key: match.variables.get(key, "") for key in variables} | {LINK: url}


async def prepare(
    callout: Callout, actor: audit.Actor, *, segment: Segment, matches: Iterable[Match], channel: str, name: str,
    ttl_s: int | None = None, created_by: int, spec: CampaignSpec | None = None,
) -> Campaign:
    """A draft campaign of the segment's matches with a mobile, each with a personal link; it needs the
    usual second person's approval."""
    prepared = await prepare_reported(callout, actor, segment=segment, matches=matches, channel=channel, name=name,
                                      ttl_s=ttl_s, created_by=created_by, spec=spec)
    assert prepared.campaign is not None  # create raised otherwise
    return prepared.campaign
