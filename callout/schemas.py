"""The campaign API's bodies and answers (also the shape the service functions take)."""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from callout.models import CampaignChannel, Fallback, MachineAction


class WindowIn(BaseModel):
    start: str = Field(..., examples=["09:00"])
    end: str = Field(..., examples=["12:00"])


class CampaignSpec(BaseModel):
    """A campaign as prepared; the audience comes with it (`recipients`) or from an uploaded file."""

    name: str = Field(..., min_length=1, max_length=100)
    channel: CampaignChannel = Field(
        CampaignChannel.VOICE,
        description="voice: calls; sms, wechat (the template message to the linked follower), push (app push) or "
        "card (a personal card on the citizen's pages): `message` sent once instead of calling")
    message: str = Field(..., description="what the person hears; variables in braces: {name}, {amount}")
    voicemail_message: str | None = Field(None, description="left after an answering machine's beep; default: message")
    sms_message: str | None = Field(None, description="sent after the last unanswered attempt; empty: no SMS")
    fallback: Fallback = Field(Fallback.SMS, description="after the last unanswered attempt: sms, wechat "
                               "(a template message to a linked follower) or wechat_then_sms (SMS where WeChat fails)")
    wechat_template_id: str | None = Field(None, max_length=64,
                                           description="the account's template for the WeChat fall-back")
    wechat_data: dict[str, str] | None = Field(None, description="template field -> text with variables, e.g. "
                                               '{"first": "{name}您好", "keyword1": "{amount}元"}')
    machine_action: MachineAction = MachineAction.VOICEMAIL
    window: WindowIn | None = Field(None, description="one calling window (Asia/Shanghai)")
    windows: list[WindowIn] | None = Field(None, description="several windows; default 09:00–12:00 and 14:00–20:00")
    days: list[str] | None = Field(None, description="mon … sun; default mon–fri")
    call_on_holidays: bool = False
    starts_on: date | None = None
    ends_on: date | None = None
    max_attempts: int = Field(3, ge=1, le=10)
    retry_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    max_concurrent: int | None = Field(None, ge=1, le=500, description="calls at once; default CALLOUT_MAX_CONCURRENT")
    calls_per_second: float | None = Field(None, gt=0, le=100, description="default CALLOUT_CALLS_PER_SECOND")


class CampaignIn(CampaignSpec):
    recipients: list[dict[str, str | int | float | None]] = Field(..., max_length=200_000)


class Rejected(BaseModel):
    row: int
    phone: str
    code: str
    reason: str


class CampaignCreated(BaseModel):
    id: int
    status: str
    accepted: int
    suppressed: int
    rejected: list[dict]


class CampaignOut(BaseModel):
    id: int
    name: str
    channel: str
    status: str
    message: str
    voicemail_message: str | None
    sms_message: str | None
    fallback: str
    wechat_template_id: str | None
    wechat_data: dict[str, str]
    machine_action: str
    variables: list[str]
    windows: list[list[str]]
    days: list[int]
    call_on_holidays: bool
    starts_on: date | None
    ends_on: date | None
    max_attempts: int
    retry_minutes: int
    max_concurrent: int
    calls_per_second: float
    created_by: int
    approved_by: int | None
    created_at: str
    approved_at: str | None
    started_at: str | None
    finished_at: str | None
    counts: dict[str, int]


class CampaignList(BaseModel):
    campaigns: list[CampaignOut]


class PlannedContact(BaseModel):
    row: int
    phone: str
    name: str
    text: str
    at: str | None = Field(description="estimated first call (ISO, Asia/Shanghai); null: outside the campaign's dates")


class DryRun(BaseModel):
    total: int
    shown: int
    contacts: list[PlannedContact]


class SuppressionIn(BaseModel):
    phone: str = Field(..., max_length=32)
    reason: str | None = Field(None, max_length=200)


class SuppressionOut(BaseModel):
    phone: str
    source: str
    created: bool
    created_at: str


class SuppressionImport(BaseModel):
    added: int
    already: int
    rejected: list[dict]


class RecipientOut(BaseModel):
    id: int
    row: int
    phone: str = Field(description="masked")
    name: str
    state: str
    outcome: str | None
    attempts: int
    fallback: str | None
    updated_at: str | None


class RecipientPage(BaseModel):
    total: int
    recipients: list[RecipientOut]


class AttemptOut(BaseModel):
    seq: int
    channel: str
    counted: bool
    status: str
    answered_by: str | None
    outcome: str | None
    error_code: int | None
    error: str | None
    heard: int
    duration_s: int | None
    claimed_at: str | None
    answered_at: str | None
    ended_at: str | None


class RecipientDetail(RecipientOut):
    variables: dict[str, str]
    tries: list[AttemptOut]


class TimelineBucket(BaseModel):
    start: str = Field(description="the bucket's start, ISO, Asia/Shanghai")
    end: str
    counts: dict[str, int] = Field(description="calls that ended in this bucket, by outcome")
    calls: int
    reach_rate: float | None = Field(description="(answered + transferred) / calls; null: no call ended")


class Timeline(BaseModel):
    bucket: str
    buckets: list[TimelineBucket]
    truncated: bool = Field(description="true: older buckets than the last 720 are left out")
    settled: int = Field(description="people done, except those never called (suppressed, expired)")
    reached: int = Field(description="people who answered or were put through to an agent")
    reach_rate: float | None = Field(description="reached / settled; null: nobody settled yet")
