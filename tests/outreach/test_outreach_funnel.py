"""The outreach funnel: a stage counts once per person, the counts and conversions of a campaign's people
as the engine, the link page and the business system's webhook record them, the webhook's refusals
(forged, stale, replayed: refused and not counted), the audited exports, and who may read it."""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from callout.context import Callout
from callout.funnel_campaigns import campaign_infos
from callout.routes import ROUTERS as CALLOUT_ROUTERS
from outreach import completions, funnel, handoff, links
from outreach.context import Outreach
from outreach.funnel import Stage
from outreach.models import FunnelEvent, OutreachLink, WebhookNonce
from outreach.routes import completions as completion_routes
from outreach.routes import funnel as funnel_routes
from staff.models import AuditEntry, Role
from tests.callout.helpers import FrozenClock, campaign_body, client, local, login, people
from tests.outreach.helpers import on_database, outreach_app

NOW = local(2026, 12, 7, 10, 0)
BUSINESS = "withdraw-repay-commercial-loan"
SECRET = "business-system-shared-secret"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def outreach(database_url, tmp_path, clock):
    async with on_database(Outreach, database_url, tmp_path, clock, outreach_business_secret=SECRET) as made:
        yield made


@pytest.fixture
async def api(outreach):
    """The funnel and webhook routes with the campaign routes beside them (as the service has them)."""
    engine = Callout(settings=outreach.settings, sessions=outreach.sessions, clock=outreach.clock)
    app = outreach_app(outreach, (Callout, engine), (funnel.Campaigns, campaign_infos),
                       routers=(completion_routes.router, funnel_routes.router, *CALLOUT_ROUTERS))
    async with client(app) as http:
        yield http


async def add_link(outreach: Outreach, *, recipient_id: int | None, campaign_id: int | None = 7,
                   segment: str | None = "borrowers_without_repayment", channel: str | None = "sms") -> OutreachLink:
    row, _issued = links.new_link(outreach.settings, business=BUSINESS, now=NOW, campaign_id=campaign_id,
                                  recipient_id=recipient_id, segment=segment, channel=channel)
    async with outreach.sessions() as session:
        session.add(row)
        await session.commit()
    return row


def signed(body: dict, *, at: datetime = NOW, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers as docs/outreach.md tells the business system to sign them."""
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    timestamp = str(int(at.timestamp()))
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hpf-Timestamp": timestamp, "X-Hpf-Signature": mac, "Content-Type": "application/json"}


def completion(link_id: str, **extra: object) -> dict:
    return {"link_id": link_id, "business": BUSINESS, "status": "completed",
            "completed_at": "2026-12-08T15:30:00+08:00", "nonce": secrets.token_hex(16), **extra}


async def stage_count(outreach: Outreach, stage: Stage) -> int:
    async with outreach.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(FunnelEvent)
                                         .where(FunnelEvent.stage == stage.value)) or 0)


async def test_a_repeated_stage_counts_once_and_the_transaction_goes_on(outreach) -> None:
    async with outreach.sessions() as session:
        group = {"campaign_id": 1, "segment": "could_borrow", "channel": "sms", "business": "loan"}
        assert await funnel.record(session, subject="r:1", stage=Stage.SENT, at=NOW, **group) is True
        assert await funnel.record(session, subject="r:1", stage=Stage.SENT, at=NOW, **group) is False
        # After a repeat the same transaction still works: a later stage and the commit go through.
        assert await funnel.record(session, subject="r:1", stage=Stage.DELIVERED, at=NOW, **group) is True
        await session.commit()
    async with outreach.sessions() as session:
        assert await funnel.record(session, subject="r:1", stage=Stage.DELIVERED, at=NOW, campaign_id=1,
                                   segment=None, channel=None, business=None) is False
        await session.commit()
        [row] = await funnel.funnel(session)
    assert row.counts == {"sent": 1, "delivered": 1, "opened": 0, "checklist": 0, "handed_off": 0, "completed": 0}


async def test_counts_and_conversions_of_a_campaign(outreach, api) -> None:
    """Ten people sent an SMS: the provider reports eight delivered; five open their link (one twice),
    three finish the checklist, two go to the form, and the business system reports one completed.
    A link an agent handed out (no campaign) is opened on its own line."""
    people_links = [await add_link(outreach, recipient_id=100 + n) for n in range(10)]
    agent_link = await add_link(outreach, recipient_id=None, campaign_id=None, segment=None, channel=None)
    group = {"campaign_id": 7, "segment": "borrowers_without_repayment", "channel": "sms", "business": BUSINESS}
    async with outreach.sessions() as session:
        for n, link in enumerate(people_links):
            subject = funnel.link_subject(link.id, link.recipient_id)
            stages = [Stage.SENT] + [Stage.DELIVERED] * (n < 8) + [Stage.OPENED] * (n < 5) + \
                [Stage.OPENED] * (n == 0) + [Stage.CHECKLIST] * (n < 3) + [Stage.HANDED_OFF] * (n < 2)
            for stage in stages:
                await funnel.record(session, subject=subject, stage=stage, at=NOW + timedelta(minutes=n), **group)
        await funnel.record(session, subject=funnel.link_subject(agent_link.id), stage=Stage.OPENED, at=NOW,
                            campaign_id=None, segment=None, channel=None, business=BUSINESS)
        await session.commit()
    raw, headers = signed(completion(people_links[0].id))
    assert (await api.post("/api/v1/outreach/completions", content=raw, headers=headers)).status_code == 200

    supervisor = await login(outreach, "lead", Role.SUPERVISOR)
    shown = (await api.get("/api/v1/outreach/funnel", headers=supervisor)).json()
    assert shown["stages"] == [s.value for s in Stage]
    campaign_row, agent_row = shown["rows"][0], shown["rows"][1]
    assert (campaign_row["campaign_id"], campaign_row["segment"], campaign_row["channel"]) == \
        (7, "borrowers_without_repayment", "sms")
    assert campaign_row["counts"] == {"sent": 10, "delivered": 8, "opened": 5, "checklist": 3,
                                      "handed_off": 2, "completed": 1}
    assert campaign_row["step"] == {"delivered": 0.8, "opened": 0.625, "checklist": 0.6, "handed_off": 0.6667,
                                    "completed": 0.5}
    assert campaign_row["overall"]["completed"] == 0.1
    assert agent_row["campaign_id"] is None and agent_row["counts"]["opened"] == 1
    assert agent_row["overall"]["opened"] is None  # nothing was sent: no ratio rather than a division by zero
    assert shown["total"]["counts"]["opened"] == 6

    by_channel = (await api.get("/api/v1/outreach/funnel", headers=supervisor,
                                params={"group_by": "channel", "channel": "sms"})).json()
    assert [(r["channel"], r["counts"]["sent"]) for r in by_channel["rows"]] == [("sms", 10)]
    # Dates are the centre's days: the completion on the 8th is outside a query ending on the 7th.
    day = (await api.get("/api/v1/outreach/funnel", headers=supervisor,
                         params={"group_by": "business", "since": "2026-12-07", "until": "2026-12-07"})).json()
    assert day["rows"][0]["counts"]["completed"] == 0 and day["rows"][0]["counts"]["sent"] == 10
    for bad, code in (({"group_by": "phone"}, "group_invalid"),
                      ({"since": "2026-12-08", "until": "2026-12-01"}, "dates_invalid"),
                      ({"campaign_id": "x"}, "invalid_request")):
        refused = await api.get("/api/v1/outreach/funnel", headers=supervisor, params=bad)
        assert (refused.status_code, refused.json()["code"]) == (422, code)


async def test_the_webhook_completes_a_link_once(outreach, api) -> None:
    link = await add_link(outreach, recipient_id=41)
    raw, headers = signed(completion(link.id))
    accepted = await api.post("/api/v1/outreach/completions", content=raw, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"status": "accepted", "link_id": link.id, "counted": True}
    async with outreach.sessions() as session:
        stored = await session.get(OutreachLink, link.id)
        event = await session.scalar(select(FunnelEvent).where(FunnelEvent.stage == "completed"))
    assert stored is not None and stored.completed_at == local(2026, 12, 8, 15, 30)
    assert event is not None and (event.subject, event.campaign_id, event.business) == ("r:41", 7, BUSINESS)

    again_raw, again = signed(completion(link.id))  # the business system reports it again, a new nonce
    second = await api.post("/api/v1/outreach/completions", content=again_raw, headers=again)
    assert second.status_code == 200 and second.json()["counted"] is False
    assert await stage_count(outreach, Stage.COMPLETED) == 1


async def test_the_webhook_takes_the_hand_off_instead_of_the_link(outreach, api) -> None:
    link = await add_link(outreach, recipient_id=None, campaign_id=None, segment=None, channel="console")
    value = handoff.make(SECRET, link_id=link.id, business=BUSINESS, depositor_ref=None,
                         now=NOW - timedelta(days=3))  # the form was opened days ago: its hand-off has long expired
    body = completion(link.id)
    del body["link_id"]
    raw, headers = signed({**body, "handoff": value})
    accepted = await api.post("/api/v1/outreach/completions", content=raw, headers=headers)
    assert accepted.status_code == 200, accepted.text
    async with outreach.sessions() as session:
        event = await session.scalar(select(FunnelEvent))
    assert event is not None and event.subject == f"l:{link.id}"

    forged = handoff.make("another secret", link_id=link.id, business=BUSINESS, depositor_ref=None, now=NOW)
    raw, headers = signed({**completion(link.id), "link_id": None, "handoff": forged})
    refused = await api.post("/api/v1/outreach/completions", content=raw, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "handoff_invalid")


async def test_the_webhook_refuses_forged_stale_replayed_and_wrong_calls(outreach, api, clock) -> None:
    link = await add_link(outreach, recipient_id=5)

    async def post(raw: bytes, headers: dict[str, str]) -> tuple[int, str]:
        answer = await api.post("/api/v1/outreach/completions", content=raw, headers=headers)
        return answer.status_code, answer.json()["code"]

    raw, headers = signed(completion(link.id), secret="guessed")
    assert await post(raw, headers) == (401, "bad_signature")
    raw, headers = signed(completion(link.id))
    assert await post(raw.replace(b"completed\"", b"completed\" "), headers) == (401, "bad_signature")  # body altered
    assert await post(raw, {"Content-Type": "application/json"}) == (401, "bad_signature")  # unsigned
    assert await post(raw, {**headers, "X-Hpf-Timestamp": "soon"}) == (401, "bad_signature")
    assert await post(raw, {**headers, "X-Hpf-Signature": "é".encode()}) == (401, "bad_signature")
    raw, headers = signed(completion(link.id), at=NOW - timedelta(minutes=6))
    assert await post(raw, headers) == (401, "stale_request")
    raw, headers = signed(completion(link.id), at=NOW + timedelta(minutes=6))
    assert await post(raw, headers) == (401, "stale_request")
    raw, headers = signed(completion("no-such-link"))
    assert await post(raw, headers) == (404, "link_not_found")
    raw, headers = signed(completion(link.id, business="loan-application"))
    assert await post(raw, headers) == (422, "business_mismatch")
    raw, headers = signed(completion(link.id, status="started"))
    assert await post(raw, headers) == (422, "invalid_request")
    raw, headers = signed(completion(link.id, completed_at="2026-12-08T15:30:00"))  # no offset
    assert await post(raw, headers) == (422, "invalid_request")
    raw, headers = signed({**completion(link.id), "padding": "x" * 20_000})
    assert await post(raw, headers) == (413, "too_large")
    assert await stage_count(outreach, Stage.COMPLETED) == 0, "nothing refused was counted"

    raw, headers = signed(completion(link.id))
    assert (await api.post("/api/v1/outreach/completions", content=raw, headers=headers)).status_code == 200
    clock.advance(minutes=2)
    assert await post(raw, headers) == (409, "replayed")  # the same call again, still inside the window
    clock.advance(minutes=4)
    assert await post(raw, headers) == (401, "stale_request")  # and after it
    assert await stage_count(outreach, Stage.COMPLETED) == 1

    # Nonces are kept only while a replay could still pass the time check.
    clock.advance(minutes=20)
    raw, headers = signed(completion(link.id), at=clock.now())
    assert (await api.post("/api/v1/outreach/completions", content=raw, headers=headers)).status_code == 200
    async with outreach.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookNonce)) == 1


async def test_exports_are_files_and_audited(outreach, api) -> None:
    async with outreach.sessions() as session:
        await funnel.record(session, subject="r:1", stage=Stage.SENT, at=NOW, campaign_id=None,
                            segment="=HYPERLINK(\"http://x\")", channel="sms", business=BUSINESS)
        await session.commit()
    supervisor = await login(outreach, "lead", Role.SUPERVISOR)
    got = await api.get("/api/v1/outreach/funnel/export", headers=supervisor,
                        params={"format": "csv", "channel": "sms"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.content.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert table[0][:5] == ["任务编号", "任务名称", "人群", "渠道", "业务"] and "已办结" in table[0]
    assert table[1][2] == "'=HYPERLINK(\"http://x\")", "a formula is kept as text"
    assert table[-1][0] == "合计"

    xlsx = await api.get("/api/v1/outreach/funnel/export", headers=supervisor,
                         params={"format": "xlsx", "group_by": "channel"})
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [cell.value for cell in sheet[1]][:2] == ["渠道", "已发送"] and sheet["A2"].value == "sms"

    async with outreach.sessions() as session:
        entries = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "outreach_funnel_export")
                                         .order_by(AuditEntry.id))).all()
    assert [(e.actor, e.role, e.detail["format"], e.detail["rows"]) for e in entries] == \
        [("lead", "supervisor", "csv", 1), ("lead", "supervisor", "xlsx", 1)]
    assert entries[0].detail["filters"]["channel"] == "sms"


async def test_who_may_read_the_funnel(outreach, api) -> None:
    agent = await login(outreach, "desk", Role.AGENT)
    planner = await login(outreach, "planner", Role.CAMPAIGNER)
    other = await login(outreach, "planner2", Role.CAMPAIGNER)
    made = await api.post("/api/v1/campaigns", headers=planner, json=campaign_body(people(2, amount="100"), name="还款提醒"))
    assert made.status_code == 201, made.text
    campaign_id = made.json()["id"]
    async with outreach.sessions() as session:
        await funnel.record(session, subject="r:1", stage=Stage.SENT, at=NOW, campaign_id=campaign_id,
                            segment=None, channel="voice", business=None)
        await session.commit()

    assert (await api.get("/api/v1/outreach/funnel")).status_code == 401
    for path in ("/api/v1/outreach/funnel", "/api/v1/outreach/funnel/export"):
        refused = await api.get(path, headers=agent)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    refused = await api.get("/api/v1/outreach/funnel", headers=planner)
    assert (refused.status_code, refused.json()["code"]) == (403, "campaign_required")
    mine = await api.get("/api/v1/outreach/funnel", headers=planner, params={"campaign_id": campaign_id})
    assert mine.status_code == 200
    assert [(r["campaign"], r["counts"]["sent"]) for r in mine.json()["rows"]] == [("还款提醒", 1)]
    refused = await api.get("/api/v1/outreach/funnel", headers=other, params={"campaign_id": campaign_id})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_the_documented_signature_example_holds() -> None:
    documented = (Path(__file__).resolve().parents[2] / "docs" / "outreach.md").read_text(encoding="utf-8")
    example = completions.signature("s3cret", "1796700000", b'{"a":1}')
    assert example == "ed8d8a363df082f286c2722454ea8887fda426814e57659afaecaed068247eac"
    assert example in documented.split("## Completion webhook", 1)[1]
