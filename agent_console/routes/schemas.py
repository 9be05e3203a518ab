"""What the console's routes answer: the shapes the console pages (agent_console/static) read.

The domain functions build these as plain dicts; the models describe them for the OpenAPI document
and check them on the way out. Keys that some answers leave out (a shift's times when off duty, one of
a transfer's targets) default to None and their routes drop unset keys, so they stay absent as before.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from agent_console.models import HandoffState, ShiftState, TicketState
from conversations.models import Channel, ConversationStatus
from conversations.schemas import MessageOut
from core.schemas import Timestamp
from staff.models import Role

# -- accounts and logins ----------------------------------------------------------------------------


class AgentOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    capacity: int
    skills: list[str]
    active: bool


class Colleague(AgentOut):
    duty: Literal["off"] | ShiftState
    load: int = Field(description="conversations held now")


class AgentsOut(BaseModel):
    agents: list[Colleague]


class TransferTarget(BaseModel):
    id: int
    display_name: str
    load: int = Field(description="conversations held now")
    capacity: int


class TransferTargetsOut(BaseModel):
    agents: list[TransferTarget] = Field(description="colleagues on duty, not me")
    skills: list[str] = Field(description="skill groups a conversation can be sent back to the pool for")


class LoginOut(BaseModel):
    token: str = Field(description="for API clients: `Authorization: Bearer <token>`")
    token_type: Literal["bearer"]
    csrf_token: str = Field(description="the page sends it as `X-CSRF-Token` with each change")
    agent: AgentOut


class LoggedOut(BaseModel):
    ok: bool


class MyAccount(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    capacity: int
    skills: list[str]


# -- duty -------------------------------------------------------------------------------------------


class ShiftOut(BaseModel):
    """An agent's open shift, or `state: "off"` (then without `requested_at` and `started_at`)."""

    state: Literal["off"] | ShiftState
    shift_id: int | None
    minutes: int | None
    ends_at: Timestamp | None
    requested_at: Timestamp | None = None
    started_at: Timestamp | None = None


class MeOut(BaseModel):
    agent: MyAccount
    duty: ShiftOut


class DutyRequest(ShiftOut):
    agent_id: int
    display_name: str


class DutyRequestsOut(BaseModel):
    auto_approve: bool
    requests: list[DutyRequest]


class OffDuty(BaseModel):
    ended: bool = Field(description="false: the shift had already ended")
    state: Literal["off"]


class DutyEnded(BaseModel):
    ended: bool = Field(description="false: the shift had already ended")


class DutyPolicy(BaseModel):
    auto_approve: bool


# -- the pool and callback tickets ------------------------------------------------------------------


class WaitingItem(BaseModel):
    conversation_id: str
    handoff_id: int
    channel: Channel
    reason: str
    priority: int
    intent: str | None
    skill: str | None
    note: str | None
    queued_at: Timestamp
    waited_s: int
    preview: str = Field(description="the citizen's last message, shortened")


class TicketOut(BaseModel):
    ticket_id: int
    conversation_id: str
    channel: Channel
    reason: str
    origin: str
    state: TicketState
    question: str
    contact: str | None
    agent_id: int | None
    created_at: Timestamp
    promised_by: Timestamp | None


class PoolOut(BaseModel):
    on_duty: bool
    waiting: list[WaitingItem]
    tickets: list[TicketOut]


class Claimed(BaseModel):
    conversation_id: str
    agent_id: int
    channel: Channel


class TicketsOut(BaseModel):
    tickets: list[TicketOut]


# -- conversations ----------------------------------------------------------------------------------


class HeldConversation(BaseModel):
    conversation_id: str
    channel: Channel
    reason: str
    note: str | None
    queued_at: Timestamp
    preview: str


class HeldConversations(BaseModel):
    conversations: list[HeldConversation]


class ConversationInfo(BaseModel):
    id: str
    channel: Channel
    status: ConversationStatus
    created_at: Timestamp


class IdentityOut(BaseModel):
    kind: str
    value: str


class CitizenOut(BaseModel):
    id: str
    identities: list[IdentityOut]


class AgentName(BaseModel):
    id: int
    display_name: str


class HandoffInfo(BaseModel):
    id: int
    state: HandoffState
    reason: str
    priority: int
    intent: str | None
    slots: dict[str, Any]
    contact: str | None
    skill: str | None
    note: str | None
    queued_at: Timestamp
    claimed_at: Timestamp | None
    agent: AgentName | None
    rating: int | None


class EarlierConversation(BaseModel):
    id: str
    channel: Channel
    status: ConversationStatus
    created_at: Timestamp
    messages: int
    last_citizen_text: str
    handoff_reason: str | None


class Fact(BaseModel):
    label: str
    value: str


class Glance(BaseModel):
    """The packet in words (agent_console/glance.py): no codes, no tokens."""

    question: str | None = Field(description="the citizen's last real question (not 转人工 and the like)")
    need: str | None = Field(description="what they needed: the intent and topic as a Chinese label")
    facts: list[Fact] = Field(description="what the bot collected, labelled and formatted")
    citizen: str = Field(description="微信用户 / App 用户 / 电话 138****1234: never a token")


class Packet(BaseModel):
    """Everything an agent needs to take over a conversation."""

    conversation: ConversationInfo
    mode: Literal["owner", "read_only"]
    citizen: CitizenOut
    handoff: HandoffInfo | None
    earlier_conversations: list[EarlierConversation]
    transcript: list[MessageOut]
    glance: Glance | None = None


class Transferred(BaseModel):
    """One of `to_agent_id` and `to_skill`, as asked."""

    conversation_id: str
    to_agent_id: int | None = None
    to_skill: str | None = None


class Finished(BaseModel):
    conversation_id: str
    status: ConversationStatus
    bot_resumed: bool = Field(description="false: the bot is resumed in the background")


class Note(BaseModel):
    """A private note between agents: never sent to the citizen."""

    id: int
    conversation_id: str
    text: str
    author: str = Field(description="the writing agent's display name")
    created_at: Timestamp


class NotesOut(BaseModel):
    notes: list[Note]


# -- help while typing ------------------------------------------------------------------------------


class CannedReply(BaseModel):
    title: str
    text: str


class CannedOut(BaseModel):
    replies: list[CannedReply]


class BusinessLink(BaseModel):
    title: str
    url: str


class Suggestion(BaseModel):
    article_id: str
    title: str
    score: float
    summary: str
    business_link: BusinessLink | None


class SuggestionsOut(BaseModel):
    articles: list[Suggestion]
    question: str | None = Field(None, description="what was searched for (the conversation's real question)")


# -- supervisors ------------------------------------------------------------------------------------


class ServiceLevel(BaseModel):
    within_s: int
    met: int
    counted: int
    share: float | None = Field(description="met / counted; null when nothing counted yet")


class LiveAgent(BaseModel):
    id: int
    display_name: str
    state: ShiftState
    shift_id: int
    load: int
    capacity: int
    ends_at: Timestamp | None
    last_seen_at: Timestamp | None


class LiveConversation(BaseModel):
    conversation_id: str
    channel: Channel
    state: HandoffState
    reason: str
    queued_at: Timestamp
    agent: str | None = Field(description="the display name of the agent who holds it")


class LiveOut(BaseModel):
    pool_length: int
    longest_wait_s: int
    agents: list[LiveAgent]
    service_level: ServiceLevel
    conversations: list[LiveConversation]


class AgentFigures(BaseModel):
    agent_id: int
    display_name: str
    grabs: int
    pushed: int
    transferred_in: int
    finished: int
    transfers: int
    first_response_s: float | None
    handling_s: float | None
    rating: float | None


class PeriodFigures(BaseModel):
    since: Timestamp
    until: Timestamp
    service_level: ServiceLevel
    agents: list[AgentFigures]


class AuditEntryOut(BaseModel):
    id: int
    at: Timestamp
    actor_id: int | None = Field(description="null: the system")
    actor: str
    role: str
    action: str
    target: str | None
    detail: dict[str, Any]
    ip: str | None


class AuditOut(BaseModel):
    entries: list[AuditEntryOut]
