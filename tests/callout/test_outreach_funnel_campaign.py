"""A small campaign end to end, counted by the funnel: prepared from a segment of the centre's data (a
personal link each), approved by a second person, its SMS sent through the fake Twilio and one reported
delivered, that person opening the link from the message, completing the checklist and pressing
"去办理", and the business system's signed webhook reporting the business done. The funnel of the
campaign then reads 2 → 1 → 1 → 1 → 1 → 1, under the campaign's name, segment, channel and business."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from callout.context import Callout
from callout.funnel_campaigns import campaign_infos
from callout.routes import ROUTERS as CALLOUT_ROUTERS
from callout.routes import segment_campaigns as segment_campaign_routes
from core.errors import install_error_handlers
from core.services import Services
from core.settings import Settings
from outreach import funnel, handoff
from outreach.context import Outreach
from outreach.records import LoanKind
from outreach.routes import completions as completion_routes
from outreach.routes import funnel as funnel_routes
from outreach.routes import link_pages
from staff.models import Role
from tests.callout.helpers import PUBLIC_BASE, client, login
from tests.outreach.segment_people import ListSource, Report, loan, person

SEGMENT = "repay-commercial-no-withdrawal"
BUSINESS = "withdraw-repay-commercial-loan"
SOURCE = ListSource([
    person("00000001", loan("00000001", LoanKind.COMMERCIAL)),
    person("00000002", loan("00000002", LoanKind.COMMERCIAL, repay_withdrawal=True)),  # already set up
    person("00000003", loan("00000003", LoanKind.COMBINATION), name="李四"),
], report=Report())


@pytest.fixture(autouse=True)
def centre_data(monkeypatch):
    monkeypatch.setattr(segment_campaign_routes, "open_source", lambda settings: SOURCE)


@pytest.fixture
async def service(line):
    """The engine's routes with the link pages, the webhook and the funnel, as the service has them."""
    app = FastAPI()
    install_error_handlers(app)
    services = app.state.services = Services()
    services.provide(Settings, line.callout.settings)
    services.provide(async_sessionmaker, line.callout.sessions)
    services.provide(Callout, line.callout)
    services.provide(Outreach, Outreach(settings=line.callout.settings, sessions=line.callout.sessions,
                                        clock=line.clock))
    services.provide(funnel.Campaigns, campaign_infos)
    for router in (*CALLOUT_ROUTERS, link_pages.router, completion_routes.router, funnel_routes.router):
        app.include_router(router)
    async with client(app) as http:
        yield http


async def test_a_segment_campaign_counted_from_sms_to_completed_business(line, service) -> None:
    planner = await login(line.callout, "planner", Role.CAMPAIGNER)
    lead = await login(line.callout, "lead", Role.SUPERVISOR)
    made = await service.post("/api/v1/campaigns/from-segment", headers=planner, json={
        "segment": SEGMENT, "channel": "sms", "name": "偿还商贷提取提醒", "window": {"start": "09:00", "end": "20:00"}})
    assert made.status_code == 201, made.text
    campaign_id = made.json()["id"]
    assert (await service.post(f"/api/v1/campaigns/{campaign_id}/approve", headers=lead)).status_code == 200
    assert (await service.post(f"/api/v1/campaigns/{campaign_id}/start", headers=planner)).status_code == 200
    await line.dialer.dispatch(campaign_id)

    texts = sorted(line.twilio.messages, key=lambda m: m["To"])
    assert [m["To"] for m in texts] == ["+8613800000001", "+8613800000003"]
    # The first person's SMS is delivered (Twilio reports it twice: counted once) and they open its link.
    url, params = line.twilio.message_status(texts[0], "delivered")
    for _twice in range(2):
        assert (await service.post(url.removeprefix(PUBLIC_BASE), data=params,
                                   headers={"X-Twilio-Signature": line.twilio.sign(url, params)})).status_code == 204
    link = re.search(r"https://\S+/o/[A-Za-z0-9_.-]+", texts[0]["Body"])
    assert link is not None, texts[0]["Body"]
    page = urlsplit(link.group(0)).path
    opened = await service.get(page)
    assert opened.status_code == 200 and "偿还" in opened.text
    answers: dict = {}
    step = (await service.post(f"{page}/checklist", json={"answers": answers})).json()
    while not step["done"]:
        question = step["question"]
        answers[question["id"]] = (False if question["type"] == "yes_no" else question["choices"][0]["id"]
                                   if question["type"] == "choice" else question["min"])
        step = (await service.post(f"{page}/checklist", json={"answers": answers})).json()
    went = await service.post(f"{page}/go")
    assert went.status_code == 303
    value = parse_qs(urlsplit(went.headers["location"]).query)[handoff.PARAM][0]

    # The next day the business system reports the withdrawal done, naming the hand-off.
    line.clock.advance(days=1)
    secret = line.callout.settings.outreach_business_secret.get_secret_value()
    body = json.dumps({"handoff": value, "business": BUSINESS, "status": "completed",
                       "completed_at": line.clock.now().isoformat(), "nonce": "campaign-e2e-0001"}).encode()
    timestamp = str(int(line.clock.now().timestamp()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    done = await service.post("/api/v1/outreach/completions", content=body, headers={
        "X-Hpf-Timestamp": timestamp, "X-Hpf-Signature": signature, "Content-Type": "application/json"})
    assert done.status_code == 200 and done.json()["counted"] is True, done.text

    shown = await service.get("/api/v1/outreach/funnel", headers=planner, params={"campaign_id": campaign_id})
    assert shown.status_code == 200, shown.text
    [row] = shown.json()["rows"]
    assert (row["campaign"], row["segment"], row["channel"], row["business"]) == \
        ("偿还商贷提取提醒", SEGMENT, "sms", BUSINESS)
    assert row["counts"] == {"sent": 2, "delivered": 1, "opened": 1, "checklist": 1, "handed_off": 1,
                             "completed": 1}
    assert row["step"]["delivered"] == 0.5 and row["overall"]["completed"] == 0.5
