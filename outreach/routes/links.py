"""Staff's side of 一点就能办 links: issue one for an app user, send one into a conversation, list a
citizen's links, revoke one, and the businesses a link can be for.

An app user id that no citizen has yet (an app user who never chatted) becomes one, as the app channel
does at a first message: the app's backend knows its users, and the centre's data may know them by that
id, so the link can still carry their facts.
"""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console import conversations
from agent_console.context import ConsoleDep
from conversations.models import Author, Channel, Citizen, Conversation, Identity
from conversations.replies import Reply
from conversations.schemas import MessageOut
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.settings import Settings
from outreach import funnel, links
from outreach.context import Outreach
from outreach.deps import OutreachDep
from outreach.link_people import citizen_facts
from outreach.models import OutreachLink
from policy.checklist_rules import ChecklistError
from policy.deps import checklists_for
from staff import audit
from staff.auth import CSRF_ERRORS, ROLE_ERRORS, SIGNED_IN_ERRORS, CurrentAgent, Me
from staff.models import Role

router = APIRouter(prefix="/api/v1/outreach", tags=["outreach: links"])
LinkId = Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")
ConversationId = Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")
TTL_ERRORS = {422: ("unknown_business", "invalid_ttl")}


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business: str = Field(min_length=1, max_length=64, description="a key of policy/params/business.yml")
    user_id: str = Field(min_length=1, max_length=128, description="the citizen's app user id")
    ttl_s: int | None = Field(None, description=f"life in seconds, {links.MIN_TTL_S}–{links.MAX_TTL_S}")


class LinkOut(BaseModel):
    url: str
    id: str
    expires_at: datetime


class ConversationLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    business: str = Field(min_length=1, max_length=64)
    ttl_s: int | None = None


class SentLink(BaseModel):
    link: LinkOut
    message: MessageOut


class LinkRow(BaseModel):
    id: str
    url: str | None = Field(description="only for the agent who made it, or a supervisor: the URL is the key")
    business: str
    business_name: str
    channel: str | None
    campaign_id: int | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    opened_at: datetime | None
    opens: int
    checklist_done_at: datetime | None
    handed_off_at: datetime | None
    completed_at: datetime | None
    state: str = Field(description="active | expired | revoked")


class LinkList(BaseModel):
    links: list[LinkRow]


class Revoked(BaseModel):
    id: str
    revoked_at: datetime


class BusinessRow(BaseModel):
    key: str
    name: str
    checklist: str | None = Field(description="the eligibility checklist the link's page asks, if any")


class BusinessList(BaseModel):
    businesses: list[BusinessRow]


def _offered(settings: Settings, key: str) -> links.Business:
    offered = links.business(settings, key)
    if offered is None:
        raise ApiError(422, "unknown_business", "没有这项网上业务，请从业务列表中选择。", field="business")
    return offered


def _ttl(ttl_s: int | None) -> int | None:
    if ttl_s is not None and not links.MIN_TTL_S <= ttl_s <= links.MAX_TTL_S:
        raise ApiError(422, "invalid_ttl", f"有效期须在 {links.MIN_TTL_S} 秒到 {links.MAX_TTL_S // 86400} 天之间。",
                       field="ttl_s")
    return ttl_s


async def _app_citizen(session: AsyncSession, user_id: str) -> str:
    """The citizen with this app user id, made now if there is none (two requests at once agree: the
    identity is unique, and the one that loses reads the winner's)."""
    query = select(Identity.citizen_id).where(Identity.kind == Channel.APP, Identity.value == user_id)
    if (found := await session.scalar(query)) is not None:
        return found
    citizen = Citizen()
    try:
        async with session.begin_nested():
            session.add(citizen)
            await session.flush()
            session.add(Identity(citizen_id=citizen.id, kind=Channel.APP, value=user_id))
            await session.flush()
    except IntegrityError:
        return (await session.execute(query)).scalar_one()
    return citizen.id


async def _make(outreach: Outreach, session: AsyncSession, me: Me, *, offered: links.Business, citizen_id: str,
                channel: str | None, ttl_s: int | None) -> links.IssuedLink:
    """A link for this citizen with what the centre's data says about them (if anything), its `sent`
    stage and the audit entry, in the caller's transaction."""
    ref, facts = await citizen_facts(session, outreach.settings, citizen_id)
    now = outreach.clock.now()
    row, issued = links.new_link(outreach.settings, business=offered.key, now=now, citizen_id=citizen_id,
                                 depositor_ref=ref, facts=facts, ttl_s=ttl_s, channel=channel, created_by=me.id)
    session.add(row)
    await session.flush()
    await funnel.record(session, subject=funnel.link_subject(row.id), stage=funnel.Stage.SENT, campaign_id=None,
                        segment=None, channel=channel, business=offered.key, at=now)
    audit.record(session, me.actor, "outreach_link_issued", f"link:{row.id}", business=offered.key,
                 citizen_id=citizen_id, channel=channel, ttl_s=ttl_s)
    return issued


@router.post("/links", response_model=LinkOut, status_code=201, summary="A personal 一点就能办 link for an app user",
             responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST, TTL_ERRORS))
async def issue_link(body: LinkIn, me: CurrentAgent, outreach: OutreachDep) -> links.IssuedLink:
    offered = _offered(outreach.settings, body.business)
    ttl_s = _ttl(body.ttl_s)
    async with outreach.sessions() as session:
        citizen_id = await _app_citizen(session, body.user_id)
        issued = await _make(outreach, session, me, offered=offered, citizen_id=citizen_id, channel=Channel.APP,
                             ttl_s=ttl_s)
        await session.commit()
    return issued


def _days(issued: links.IssuedLink, now: datetime) -> str:
    seconds = (issued.expires_at - now).total_seconds()
    return f"{round(seconds / 86400)}天" if seconds >= 86400 else f"{max(1, round(seconds / 3600))}小时"


@router.post("/conversations/{conversation_id}/links", response_model=SentLink, status_code=201,
             summary="Send the citizen of a conversation a personal link, as the agent's message",
             responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, INVALID_REQUEST, TTL_ERRORS, {
                 403: ("not_your_conversation",), 404: ("conversation_not_found",),
             }))
async def send_link(body: ConversationLinkIn, me: CurrentAgent, outreach: OutreachDep, console: ConsoleDep,
                    conversation_id: str = ConversationId) -> dict:
    """Only the agent holding the conversation (or a supervisor) may; the message goes out the agent
    console's own way, so the citizen gets it on their channel and the transcript shows it."""
    offered = _offered(outreach.settings, body.business)
    ttl_s = _ttl(body.ttl_s)
    async with outreach.sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise ApiError(404, "conversation_not_found", "会话不存在。")
        try:
            await conversations.owned(session, me, conversation_id)
            holder = True
        except ApiError:
            if not me.can(Role.SUPERVISOR):
                raise
            holder = False
        issued = await _make(outreach, session, me, offered=offered, citizen_id=conversation.citizen_id,
                             channel=conversation.channel, ttl_s=ttl_s)
        await session.commit()
    text = (f"您可以直接在手机上办理“{offered.name}”：点开下面的链接，查看办理条件和要准备的材料，"
            f"确认后一键进入网上办理（链接仅限您本人使用，{_days(issued, outreach.clock.now())}内有效）。")
    link = [{"title": f"一点就能办：{offered.name}", "url": issued.url}]
    if holder:
        message = await conversations.send(console, me, conversation_id, text, link)
    else:
        # A supervisor stepping in: the same message, stored and pushed by the hub, and audited.
        reply = Reply(text=text, links=link, meta={"agent": {"name": me.display_name}})
        sent = await console.hub.send(conversation_id, conversation.channel, Author.AGENT, reply, push=True)
        async with outreach.sessions() as session:
            audit.record(session, me.actor, "message", f"conversation:{conversation_id}", message_id=sent.id,
                         chars=len(text), links=1)
            await session.commit()
        message = sent.to_dict()
    return {"link": {"url": issued.url, "id": issued.id, "expires_at": issued.expires_at}, "message": message}


def _state(link: OutreachLink, now: datetime) -> str:
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= now else "active"


@router.get("/links", response_model=LinkList, summary="A citizen's personal links, newest first",
            responses=error_responses(SIGNED_IN_ERRORS, INVALID_REQUEST))
async def list_links(me: CurrentAgent, outreach: OutreachDep,
                     citizen_id: str = Query(min_length=1, max_length=64)) -> dict:
    now = outreach.clock.now()
    catalogue = links.businesses(outreach.settings)
    async with outreach.sessions() as session:
        rows = (await session.scalars(
            select(OutreachLink).where(OutreachLink.citizen_id == citizen_id)
            .order_by(OutreachLink.created_at.desc()).limit(200)
        )).all()
    def url(row: OutreachLink) -> str | None:
        # The URL opens the citizen's page; only whoever sent it (or a supervisor) may send it again.
        return links.url_for(outreach.settings, row.id) if row.created_by == me.id or me.can(Role.SUPERVISOR) else None

    return {"links": [{
        "id": row.id, "url": url(row), "business": row.business,
        "business_name": catalogue[row.business].name if row.business in catalogue else row.business,
        "channel": row.channel, "campaign_id": row.campaign_id, "created_by": row.created_by,
        "created_at": row.created_at, "expires_at": row.expires_at, "revoked_at": row.revoked_at,
        "opened_at": row.opened_at, "opens": row.opens, "checklist_done_at": row.checklist_done_at,
        "handed_off_at": row.handed_off_at, "completed_at": row.completed_at, "state": _state(row, now),
    } for row in rows]}


@router.post("/links/{link_id}/revoke", response_model=Revoked, summary="Stop a link for good",
             responses=error_responses(SIGNED_IN_ERRORS, CSRF_ERRORS, ROLE_ERRORS, INVALID_REQUEST,
                                       {404: ("link_not_found",)}))
async def revoke_link(me: CurrentAgent, outreach: OutreachDep, link_id: str = LinkId) -> dict:
    """The agent who made a link may revoke it; any link (a campaign's, the bot's) takes a supervisor."""
    async with outreach.sessions() as session:
        link = await session.get(OutreachLink, link_id)
        if link is None:
            raise ApiError(404, "link_not_found", "没有这个链接。")
        if link.created_by != me.id and not me.can(Role.SUPERVISOR):
            raise ApiError(403, "forbidden", "只有发出链接的坐席或班长可以停用它。")
        await links.revoke(session, link, by=me.id, now=outreach.clock.now())
        audit.record(session, me.actor, "outreach_link_revoked", f"link:{link.id}", business=link.business)
        await session.commit()
        assert link.revoked_at is not None
        return {"id": link.id, "revoked_at": link.revoked_at}


@router.get("/businesses", response_model=BusinessList, summary="The businesses a personal link can be for",
            responses=error_responses(SIGNED_IN_ERRORS))
async def list_businesses(me: CurrentAgent, outreach: OutreachDep) -> dict:
    try:
        checklists = checklists_for(outreach.settings)
    except ChecklistError:
        checklists = None
    rows = []
    for offered in links.businesses(outreach.settings).values():
        checklist = links.checklist_for(checklists, offered) if checklists is not None else None
        rows.append({"key": offered.key, "name": offered.name, "checklist": checklist.case if checklist else None})
    return {"businesses": rows}
