"""Campaigns from preparation to the end: create (audience and texts checked), approve (a second
person), start, pause, resume, cancel; status with counts; a dry run of who would be called when.

Status changes are one conditional UPDATE each (`transition`), so two people pressing at once, in any
number of processes, change it once; the other gets 409 naming the state found.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callout import messages, phones, uploads
from callout.context import Callout
from callout.models import (
    Campaign,
    CampaignChannel,
    CampaignStatus,
    Fallback,
    Outcome,
    Recipient,
    RecipientState,
    Suppression,
)
from callout.provider import missing_settings
from callout.schedule import LOCAL, parse_days, parse_windows, plan_of
from callout.schemas import CampaignSpec
from core.db import rowcount
from core.errors import ApiError
from staff import audit
from staff.auth import Me

S = CampaignStatus
ALLOWED: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    S.APPROVED: frozenset({S.DRAFT}),
    S.RUNNING: frozenset({S.APPROVED, S.PAUSED}),
    S.PAUSED: frozenset({S.RUNNING}),
    S.COMPLETED: frozenset({S.RUNNING}),
    S.CANCELLED: frozenset({S.DRAFT, S.APPROVED, S.RUNNING, S.PAUSED}),
}
STATE_NAMES: dict[str, str] = {S.DRAFT: "待审批", S.APPROVED: "已审批", S.RUNNING: "进行中", S.PAUSED: "已暂停",
               S.COMPLETED: "已完成", S.CANCELLED: "已取消"}
INSERT_CHUNK = 2000
TEMPLATE_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")  # WeChat's template keywords: first, keyword1 …


class IllegalCampaignTransition(ApiError):
    def __init__(self, campaign_id: int, target: CampaignStatus, expected: frozenset, found: str | None) -> None:
        wanted = "、".join(STATE_NAMES[s] for s in sorted(expected))
        shown = STATE_NAMES.get(found, found) if found is not None else "不存在"
        super().__init__(409, "campaign_state", f"外呼任务当前为“{shown}”，只有“{wanted}”的任务可以这样操作。",
                         expected=sorted(expected), found=found)
        self.campaign_id, self.target = campaign_id, target


async def transition(
    session: AsyncSession, campaign_id: int, target: CampaignStatus, *, values: dict | None = None,
    expected: frozenset[CampaignStatus] | None = None,
) -> None:
    """Move the campaign to `target` from one of the states allowed before it; the caller commits."""
    allowed = expected or ALLOWED[target]
    result = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_([str(s) for s in allowed]))
        .values(status=target, **(values or {}))
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        found = await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        raise IllegalCampaignTransition(campaign_id, target, allowed, found)


# -- creating -----------------------------------------------------------------------------------------

class Preparer(Protocol):
    """Who prepares a campaign: a signed-in agent (`Me`), or the account a segment campaign is made for."""

    @property
    def id(self) -> int: ...

    @property
    def actor(self) -> audit.Actor: ...


# Called inside the transaction that stores a new campaign and its recipients, before the commit: what
# a caller adds (a segment campaign's personal links) commits with the campaign or not at all.
BeforeCommit = Callable[[AsyncSession, Campaign], Awaitable[None]]


async def create(
    callout: Callout, me: Preparer, spec: CampaignSpec, header: list[str], rows: Iterable[uploads.Row],
    *, before_commit: BeforeCommit | None = None,
) -> tuple[Campaign, int, list[dict]]:
    """The new campaign (draft), how many recipients are on the suppression list, and the bad rows."""
    texts = {"message": messages.parse(spec.message)}
    if spec.voicemail_message:
        texts["voicemail_message"] = messages.parse(spec.voicemail_message, what="voicemail_message")
    if spec.sms_message:
        texts["sms_message"] = messages.parse(spec.sms_message, what="sms_message")
    wechat = _wechat_fields(spec)
    texts |= {f"wechat_data.{key}": template for key, template in wechat.items()}
    if spec.ends_on and spec.starts_on and spec.ends_on < spec.starts_on:
        raise ApiError(422, "dates_invalid", "结束日期不能早于开始日期。")
    windows = parse_windows([(w.start, w.end) for w in spec.windows] if spec.windows
                            else [(spec.window.start, spec.window.end)] if spec.window else None)
    days = parse_days(spec.days)
    _phone, _name, columns = uploads.columns_of(header)
    used = messages.check_known(texts, columns)
    audience = uploads.check(header, rows, used)
    if not audience.accepted:
        raise ApiError(422, "no_valid_recipients", "名单中没有可以呼叫的联系人。", rejected=audience.rejected[:1000])
    settings = callout.settings
    campaign = Campaign(
        name=spec.name.strip(), channel=spec.channel, status=S.DRAFT, message=texts["message"].text,
        voicemail_message=texts.get("voicemail_message", texts["message"]).text,
        sms_message=texts["sms_message"].text if "sms_message" in texts else None,
        fallback=spec.fallback, wechat_template_id=(spec.wechat_template_id or "").strip() or None,
        wechat_data={key: template.text for key, template in wechat.items()},
        machine_action=spec.machine_action, variables=used, windows=windows, days=days,
        call_on_holidays=spec.call_on_holidays, starts_on=spec.starts_on, ends_on=spec.ends_on,
        max_attempts=spec.max_attempts, retry_minutes=spec.retry_minutes,
        max_concurrent=spec.max_concurrent or settings.callout_max_concurrent,
        calls_per_second=spec.calls_per_second or settings.callout_calls_per_second,
        created_by=me.id, created_at=callout.clock.now(),
    )
    async with callout.sessions() as session:
        session.add(campaign)
        await session.flush()
        now = callout.clock.now()
        batch = [
            {"campaign_id": campaign.id, "row": person.row, "phone": person.phone, "name": person.name,
             "variables": person.variables, "state": RecipientState.PENDING, "attempts": 0, "tries": 0,
             "next_attempt_at": now, "updated_at": now}
            for person in audience.accepted
        ]
        for start in range(0, len(batch), INSERT_CHUNK):
            await session.execute(insert(Recipient), batch[start:start + INSERT_CHUNK])
        suppressed = await _settle_suppressed(session, campaign.id)
        audit.record(session, me.actor, "campaign_create", f"campaign:{campaign.id}", name=campaign.name,
                     recipients=len(batch), rejected=len(audience.rejected), suppressed=suppressed)
        if before_commit is not None:
            await before_commit(session, campaign)
        await session.commit()
    return campaign, suppressed, audience.rejected


def _wechat_fields(spec: CampaignSpec) -> dict[str, messages.Template]:
    """The WeChat template's fields, each a text with variables (checked with the other texts); 422 when
    the channel or the fall-back names WeChat without a template, or a field name WeChat would not accept."""
    if spec.fallback == Fallback.SMS and spec.channel != CampaignChannel.WECHAT:
        return {}
    if not (spec.wechat_template_id or "").strip() or not spec.wechat_data:
        raise ApiError(422, "wechat_template_missing", "选择微信模板消息补发时，请填写模板ID和模板字段内容。",
                       field="wechat_template_id")
    if spec.fallback == Fallback.WECHAT_THEN_SMS and not spec.sms_message:
        raise ApiError(422, "sms_message_missing", "“先微信后短信”需要填写短信内容。", field="sms_message")
    fields: dict[str, messages.Template] = {}
    for key, text in spec.wechat_data.items():
        if not TEMPLATE_FIELD.match(key):
            raise ApiError(422, "wechat_field_invalid", f"模板字段名“{key[:40]}”不正确：只能用字母、数字和下划线。",
                           field="wechat_data")
        fields[key] = messages.parse(text, what=f"wechat_data.{key}")
    return fields


async def _settle_suppressed(session: AsyncSession, campaign_id: int) -> int:
    listed = select(Suppression.phone).scalar_subquery()
    result = await session.execute(
        update(Recipient)
        .where(Recipient.campaign_id == campaign_id, Recipient.phone.in_(listed),
               Recipient.state.in_([RecipientState.PENDING, RecipientState.RETRY]))
        .values(state=RecipientState.DONE, outcome=Outcome.SUPPRESSED)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


# -- the lifecycle -------------------------------------------------------------------------------------

async def get(callout: Callout, campaign_id: int) -> Campaign:
    async with callout.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise ApiError(404, "campaign_not_found", "外呼任务不存在。")
    return campaign


async def approve(callout: Callout, me: Me, campaign_id: int) -> Campaign:
    """Four eyes: a supervisor or admin other than the one who prepared it (the route checks the role)."""
    campaign = await get(callout, campaign_id)
    if campaign.created_by == me.id:
        raise ApiError(403, "own_campaign", "不能审批自己创建的外呼任务，请由另一位主管或管理员审批。")
    async with callout.sessions() as session:
        now = callout.clock.now()
        await transition(session, campaign_id, S.APPROVED, values={"approved_by": me.id, "approved_at": now})
        audit.record(session, me.actor, "campaign_approve", f"campaign:{campaign_id}")
        await session.commit()
    return await get(callout, campaign_id)


def _unconfigured(callout: Callout, channel: str, fallback: str) -> list[str] | None:
    """The settings the campaign's channel still lacks here (None: it can go); a WeChat campaign that falls
    back to SMS (wechat_then_sms) needs the SMS line too."""
    if channel == CampaignChannel.CARD:
        return None  # written into our own database
    if channel == CampaignChannel.PUSH:
        return None if callout.push is not None else ["APP_PUSH_URL", "APP_PUSH_SECRET"]
    if channel == CampaignChannel.WECHAT and callout.notices is None:
        return ["WECHAT_APPID", "WECHAT_SECRET"]
    if channel == CampaignChannel.WECHAT and fallback != Fallback.WECHAT_THEN_SMS:
        return None
    missing = missing_settings(callout.settings)
    return missing if missing or callout.provider is None else None


async def start(callout: Callout, me: Me, campaign_id: int) -> Campaign:
    """Approved → running, or paused → running (resume): the dispatcher takes it from here."""
    async with callout.sessions() as session:
        chosen = (await session.execute(select(Campaign.channel, Campaign.fallback)
                                        .where(Campaign.id == campaign_id))).first()
    channel, fallback = chosen if chosen is not None else (CampaignChannel.VOICE, Fallback.SMS)
    missing = _unconfigured(callout, channel, fallback)
    if missing is not None:
        raise ApiError(503, "outbound_not_configured", "外呼线路尚未配置，暂时无法开始。", missing=missing)
    async with callout.sessions() as session:
        found = await session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        if found is None:
            raise ApiError(404, "campaign_not_found", "外呼任务不存在。")
        now = callout.clock.now()
        values = {"next_dial_at": now, "dispatcher_until": None}
        if found == S.APPROVED:
            values["started_at"] = now
        await transition(session, campaign_id, S.RUNNING, values=values)
        audit.record(session, me.actor, "campaign_start" if found == S.APPROVED else "campaign_resume",
                     f"campaign:{campaign_id}")
        await session.commit()
    callout.queue.dispatch(campaign_id)
    return await get(callout, campaign_id)


async def pause(callout: Callout, me: Me, campaign_id: int) -> Campaign:
    """No new calls; calls in progress finish. Resume with start."""
    async with callout.sessions() as session:
        await transition(session, campaign_id, S.PAUSED)
        audit.record(session, me.actor, "campaign_pause", f"campaign:{campaign_id}")
        await session.commit()
    return await get(callout, campaign_id)


async def cancel(callout: Callout, me: Me, campaign_id: int) -> Campaign:
    """Nobody not yet reached is called; calls in progress finish and keep their outcome."""
    async with callout.sessions() as session:
        now = callout.clock.now()
        await transition(session, campaign_id, S.CANCELLED, values={"finished_at": now})
        await session.execute(
            update(Recipient)
            .where(Recipient.campaign_id == campaign_id,
                   Recipient.state.in_([RecipientState.PENDING, RecipientState.RETRY]))
            .values(state=RecipientState.DONE, outcome=Outcome.CANCELLED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        audit.record(session, me.actor, "campaign_cancel", f"campaign:{campaign_id}")
        await session.commit()
    return await get(callout, campaign_id)


# -- reading -------------------------------------------------------------------------------------------

async def counts(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    """Recipients by state (pending, calling, retry) and, for the finished ones, by outcome."""
    rows = await session.execute(
        select(Recipient.state, Recipient.outcome, func.count())
        .where(Recipient.campaign_id == campaign_id)
        .group_by(Recipient.state, Recipient.outcome)
    )
    result = {"total": 0, "pending": 0, "calling": 0, "retry": 0, "done": 0}
    result |= {str(outcome): 0 for outcome in Outcome}
    result |= {"sms_sent": 0, "sms_failed": 0, "wechat_sent": 0, "wechat_failed": 0}
    for state, outcome, count in rows.all():
        result["total"] += count
        result[state] = result.get(state, 0) + count
        if state == RecipientState.DONE and outcome:
            result[outcome] = result.get(outcome, 0) + count
    fallbacks = await session.execute(
        select(Recipient.fallback, func.count())
        .where(Recipient.campaign_id == campaign_id, Recipient.fallback.is_not(None))
        .group_by(Recipient.fallback)
    )
    for fallback, count in fallbacks.all():
        if fallback is not None:  # as the query asks
            result[fallback] = count
    return result


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def describe(callout: Callout, campaign_id: int) -> dict:
    campaign = await get(callout, campaign_id)
    async with callout.sessions() as session:
        tally = await counts(session, campaign_id)
    return {
        "id": campaign.id, "name": campaign.name, "channel": campaign.channel, "status": campaign.status,
        "message": campaign.message, "voicemail_message": campaign.voicemail_message,
        "sms_message": campaign.sms_message, "fallback": campaign.fallback,
        "wechat_template_id": campaign.wechat_template_id, "wechat_data": dict(campaign.wechat_data or {}),
        "machine_action": campaign.machine_action,
        "variables": list(campaign.variables), "windows": list(campaign.windows), "days": list(campaign.days),
        "call_on_holidays": campaign.call_on_holidays, "starts_on": campaign.starts_on, "ends_on": campaign.ends_on,
        "max_attempts": campaign.max_attempts, "retry_minutes": campaign.retry_minutes,
        "max_concurrent": campaign.max_concurrent, "calls_per_second": campaign.calls_per_second,
        "created_by": campaign.created_by, "approved_by": campaign.approved_by,
        "created_at": _iso(campaign.created_at), "approved_at": _iso(campaign.approved_at),
        "started_at": _iso(campaign.started_at), "finished_at": _iso(campaign.finished_at), "counts": tally,
    }


async def listing(callout: Callout, limit: int = 100) -> list[dict]:
    async with callout.sessions() as session:
        ids = (await session.scalars(select(Campaign.id).order_by(Campaign.id.desc()).limit(limit))).all()
    return [await describe(callout, campaign_id) for campaign_id in ids]


async def dry_run(callout: Callout, campaign_id: int, limit: int = 50) -> dict:
    """Who would be called when, with each person's text: the first `limit` recipients still to try,
    at the campaign's pace inside its windows (an estimate: calls that ring long or fail move it)."""
    campaign = await get(callout, campaign_id)
    plan = plan_of(campaign, callout.settings)
    template = messages.parse(campaign.message)
    async with callout.sessions() as session:
        waiting = [RecipientState.PENDING, RecipientState.RETRY]
        total = await session.scalar(select(func.count()).where(
            Recipient.campaign_id == campaign_id, Recipient.state.in_(waiting)))
        people = (await session.scalars(
            select(Recipient).where(Recipient.campaign_id == campaign_id, Recipient.state.in_(waiting))
            .order_by(Recipient.next_attempt_at, Recipient.id).limit(limit)
        )).all()
    step = timedelta(seconds=1 / campaign.calls_per_second)
    moment: datetime | None = callout.clock.now()
    contacts = []
    for person in people:
        moment = plan.next_open(max(moment, person.next_attempt_at)) if moment else None
        contacts.append({
            "row": person.row, "phone": phones.mask(person.phone), "name": person.name,
            "text": template.render({**person.variables, "name": person.name}),
            "at": moment.astimezone(LOCAL).isoformat() if moment else None,
        })
        if moment:
            moment += step
    return {"total": int(total or 0), "shown": len(contacts), "contacts": contacts}
