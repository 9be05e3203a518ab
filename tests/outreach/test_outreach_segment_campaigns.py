"""Segments over HTTP and campaigns prepared from them: the list and the masked preview for those who
prepare campaigns; POST /api/v1/campaigns/from-segment makes a draft whose recipients are the matches
with a mobile, each linked to a citizen and given a personal link, that still needs a second person."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from callout.context import Callout
from callout.models import Campaign, Recipient
from callout.routes import ROUTERS as CALLOUT_ROUTERS
from callout.routes import segment_campaigns as segment_campaign_routes
from conversations.models import Author, Citizen, Conversation, Direction, Identity, Message
from outreach.context import Outreach
from outreach.identities import depositor_ref
from outreach.models import DepositorLink, OutreachLink
from outreach.records import Assistant, AssistantKind, Employer, LoanKind
from outreach.routes import segments as segment_routes
from outreach.segment_asked import asked_by_key
from outreach.segments import evaluate, load_segments
from policy.loan_params import load_params
from staff import passwords
from staff.models import AuditEntry, Role
from tests.agent_console.helpers import CHEAP_HASHER
from tests.callout.helpers import FrozenClock, client, local, login
from tests.outreach.helpers import PUBLIC, on_database, outreach_app
from tests.outreach.segment_people import ListSource, Report, loan, person

ROOT = Path(__file__).resolve().parents[2]
NOW = local(2026, 12, 7, 10, 0)
SOURCE = ListSource(
    [
        person("00000001", loan("00000001", LoanKind.COMMERCIAL)),
        person("00000002", loan("00000002", LoanKind.COMMERCIAL, repay_withdrawal=True)),
        person("00000003", loan("00000003", LoanKind.COMBINATION), name="李四"),
        person("00000004", loan("00000004", LoanKind.COMMERCIAL), mobile=None),  # matches, cannot be reached
        person("00000005", loan("00000005", LoanKind.HPF)),
    ],
    [Employer("E1", "邯郸某某有限公司", "王五", "+8613900000001", "normal")],
    [Assistant("A1", "赵六", "+8613700000001", "某某银行", AssistantKind.BANK)],
    Report(count=2),
)


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture(autouse=True)
def centre_data(monkeypatch):
    for module in (segment_routes, segment_campaign_routes):
        monkeypatch.setattr(module, "open_source", lambda settings: SOURCE)


@pytest.fixture
async def callout(database_url, tmp_path):
    async with on_database(Callout, database_url, tmp_path, FrozenClock(NOW)) as made:
        yield made


@pytest.fixture
async def api(callout):
    outreach = Outreach(settings=callout.settings, sessions=callout.sessions, clock=callout.clock)
    app = outreach_app(outreach, (Callout, callout), routers=(*CALLOUT_ROUTERS, segment_routes.router))
    async with client(app) as http:
        yield http


def ref(account: str, callout: Callout) -> str:
    return depositor_ref(callout.settings.session_secret.get_secret_value(), account)


async def test_segments_are_listed_and_previewed_masked(callout, api):
    campaigner = await login(callout, "planner", Role.CAMPAIGNER)
    agent = await login(callout, "agent", Role.AGENT)
    assert (await api.get("/api/v1/outreach/segments")).status_code == 401
    assert (await api.get("/api/v1/outreach/segments", headers=agent)).json()["code"] == "forbidden"
    listed = await api.get("/api/v1/outreach/segments", headers=campaigner)
    assert listed.status_code == 200, listed.text
    by_key = {item["key"]: item for item in listed.json()["segments"]}
    assert by_key["could-borrow"]["business"] == "loan-apply"
    assert "估算，以审批为准" in by_key["could-borrow"]["messages"]["sms"]
    assert "continuous_months >= 6" in by_key["could-borrow"]["when"]

    shown = await api.post("/api/v1/outreach/segments/repay-commercial-no-withdrawal/preview",
                           json={"samples": 2}, headers=campaigner)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["count"], body["with_mobile"], body["bad_rows"]) == (3, 2, 2)
    assert body["samples"][0]["name"] == "张*明" and body["samples"][0]["mobile"] == "138****0001"
    assert "00000001" not in shown.text and "张三明" not in shown.text and "13800000001" not in shown.text

    missing = await api.post("/api/v1/outreach/segments/no-such/preview", headers=campaigner)
    assert (missing.status_code, missing.json()["code"]) == (404, "segment_not_found")
    no_event = await api.post("/api/v1/outreach/segments/rate-change/preview", headers=campaigner)
    assert (no_event.status_code, no_event.json()["code"]) == (422, "event_invalid")
    rate = await api.post("/api/v1/outreach/segments/rate-change/preview", headers=campaigner,
                          json={"event": {"old_rate": 2.85, "new_rate": 2.6}})
    assert rate.status_code == 200 and rate.json()["count"] == 2  # the HPF and the combination loan


async def test_a_campaign_from_a_segment_is_a_draft_with_a_link_each(callout, api):
    planner = await login(callout, "planner", Role.CAMPAIGNER)
    supervisor = await login(callout, "boss", Role.SUPERVISOR)
    made = await api.post("/api/v1/campaigns/from-segment", headers=planner, json={
        "segment": "repay-commercial-no-withdrawal", "channel": "sms", "name": "偿还商贷提取提醒",
        "link_ttl_s": 7 * 86400, "window": {"start": "09:00", "end": "20:00"},
    })
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["status"], body["matched"], body["without_mobile"], body["accepted"]) == ("draft", 3, 1, 2)
    assert body["business"] == "withdraw-repay-commercial-loan"
    campaign_id = body["id"]

    async with callout.sessions() as session:
        campaign = await session.get(Campaign, campaign_id)
        recipients = (await session.scalars(select(Recipient).where(Recipient.campaign_id == campaign_id)
                                            .order_by(Recipient.row))).all()
        links = {link.id: link for link in (await session.scalars(select(OutreachLink))).all()}
        identities = (await session.execute(select(Identity.kind, Identity.value, Identity.citizen_id))).all()
        depositors = (await session.scalars(select(DepositorLink))).all()
        audit = (await session.scalars(select(AuditEntry.action).where(
            AuditEntry.target == f"campaign:{campaign_id}"))).all()
    assert campaign is not None
    assert (campaign.channel, campaign.segment, campaign.business) == (
        "sms", "repay-commercial-no-withdrawal", "withdraw-repay-commercial-loan")
    assert "{link}" in campaign.message and "{name}" in campaign.message
    assert [r.phone for r in recipients] == ["+8613800000001", "+8613800000003"]
    assert recipients[0].name == "张先生/女士"
    for recipient in recipients:
        link = links[recipient.link_id]
        assert recipient.variables["link"].startswith(f"{PUBLIC}/o/")
        assert (link.recipient_id, link.campaign_id, link.citizen_id) == (recipient.id, campaign_id,
                                                                           recipient.citizen_id)
        assert (link.business, link.checklist, link.segment, link.channel) == (
            "withdraw-repay-commercial-loan", "repay-commercial-loan", "repay-commercial-no-withdrawal", "sms")
        assert link.answers == {"loan_type": "housing", "borrower": "self", "overdue": False}
        assert link.facts["姓名"] in ("张*明", "李*")
        assert (link.expires_at - NOW).total_seconds() == 7 * 86400
    assert {d.depositor_ref for d in depositors} == {ref("00000001", callout), ref("00000003", callout)}
    assert ("phone", "+8613800000001", recipients[0].citizen_id) in [tuple(i) for i in identities]
    assert set(audit) >= {"campaign_create", "campaign_from_segment"}

    # The usual four eyes: not by the one who prepared it, then by a supervisor.
    own = await api.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=planner)
    assert own.status_code == 403
    approved = await api.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=supervisor)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


async def test_from_segment_refusals(callout, api):
    planner = await login(callout, "planner", Role.CAMPAIGNER)

    async def attempt(**body: object) -> tuple[int, str]:
        answer = await api.post("/api/v1/campaigns/from-segment", headers=planner,
                                json={"name": "政策提醒", **body})
        return answer.status_code, answer.json().get("code", "")

    assert await attempt(segment="no-such", channel="sms") == (404, "segment_not_found")
    assert await attempt(segment="employer-admins-policy", channel="push") == (422, "channel_text_missing")
    assert await attempt(segment="could-borrow", channel="fax") == (422, "invalid_request")
    assert await attempt(segment="rate-change", channel="sms") == (422, "event_invalid")
    assert await attempt(segment="repay-commercial-no-withdrawal", channel="sms", link_ttl_s=5) == (
        422, "invalid_request")
    assert await attempt(segment="could-borrow", channel="sms") == (422, "no_valid_recipients")  # all have loans
    # A call's SMS fall-back is the segment's SMS text.
    called = await api.post("/api/v1/campaigns/from-segment", headers=planner,
                            json={"name": "还贷提醒", "segment": "repay-hpf-no-withdrawal", "channel": "voice"})
    assert called.status_code == 201, called.text
    async with callout.sessions() as session:
        campaign = await session.get(Campaign, called.json()["id"])
    assert campaign is not None and campaign.channel == "voice"
    assert campaign.message.startswith("{name}您好，这里是住房公积金中心") and "{link}" in (campaign.sms_message or "")
    # Policy for employers' administrators goes by SMS, without a citizen or a depositor behind it.
    made = await api.post("/api/v1/campaigns/from-segment", headers=planner,
                          json={"name": "专管员政策", "segment": "employer-admins-policy", "channel": "sms"})
    assert made.status_code == 201, made.text
    async with callout.sessions() as session:
        [recipient] = (await session.scalars(select(Recipient).where(Recipient.campaign_id == made.json()["id"]))).all()
    assert recipient.citizen_id is None and recipient.link_id is not None
    assert recipient.variables["employer_name"] == "邯郸某某有限公司"


async def test_what_people_asked_in_a_conversation_sets_the_combination_estimate(callout, api):
    async with callout.sessions() as session:
        session.add_all([Citizen(id="c-asked"), Citizen(id="c-linked")])
        await session.flush()
        session.add_all([Identity(citizen_id="c-asked", kind="phone", value="+8613800000021"),
                         Conversation(id="v1", citizen_id="c-asked", channel="web"),
                         Conversation(id="v2", citizen_id="c-linked", channel="app"),
                         DepositorLink(depositor_ref=ref("00000022", callout), citizen_id="c-linked")])
        await session.flush()
        for conversation, amount in (("v1", 1_200_000), ("v2", 1_500_000)):
            session.add(Message(conversation_id=conversation, channel="web", direction=Direction.OUT,
                                author=Author.BOT, text="试算", payload={"loan_ask": {"amount": amount}}))
        await session.commit()
    async with callout.sessions() as session:
        asked = await asked_by_key(session)
    assert asked == {"phone:+8613800000021": 1_200_000, ref("00000022", callout): 1_500_000}
    low = {"balance": 10000.0, "monthly_base": 5000.0, "monthly_deposit": 1000.0}
    source = ListSource([person("00000021", **low), person("00000022", **low), person("00000023", **low)])
    segment = load_segments(ROOT / "policy" / "segments", ROOT / "policy" / "params")["could-borrow"]
    params = load_params(ROOT / "policy" / "params" / "loan.yml")
    notes = [m.variables["combination_note"] for m in evaluate(
        segment, source, params=params, rates=params.rate_entry(NOW.date()),
        secret=callout.settings.session_secret.get_secret_value(), asked=asked)]
    assert [note.split("，")[0] for note in notes] == ["如需120.0万元", "如需150.0万元", "如需100.0万元"]
