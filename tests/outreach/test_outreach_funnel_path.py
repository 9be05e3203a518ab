"""One person's whole path through the funnel with the real parts: a campaign's SMS sent and delivered
(recorded as the engine records them), the personal link opened, its checklist completed and "去办理"
pressed on the link page, then the business system's signed completion webhook carrying the hand-off the
form was opened with. The funnel then shows the person once at every stage, repeats included."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from outreach import funnel, handoff, links
from outreach.context import Outreach
from outreach.funnel import Stage
from outreach.routes import completions as completion_routes
from outreach.routes import funnel as funnel_routes
from outreach.routes import link_pages
from staff.models import Role
from tests.callout.helpers import FrozenClock, client, local, login
from tests.outreach.helpers import on_database, outreach_app

NOW = local(2026, 12, 7, 10, 0)
BUSINESS = "withdraw-repay-commercial-loan"
SECRET = "business-system-shared-secret"


@pytest.fixture
async def outreach(database_url, tmp_path):
    async with on_database(Outreach, database_url, tmp_path, FrozenClock(NOW), outreach_business_secret=SECRET) as made:
        yield made


@pytest.fixture
async def api(outreach):
    app = outreach_app(outreach, routers=(completion_routes.router, funnel_routes.router, link_pages.router))
    async with client(app) as http:
        yield http


async def test_one_person_from_the_message_to_the_completed_business(outreach, api) -> None:
    row, issued = links.new_link(outreach.settings, business=BUSINESS, now=NOW, depositor_ref="ref-abc",
                                 answers={"loan_type": "housing", "borrower": "self"}, campaign_id=3,
                                 recipient_id=41, segment="no-repay-withdrawal", channel="sms")
    async with outreach.sessions() as session:
        session.add(row)
        group = {"campaign_id": 3, "segment": "no-repay-withdrawal", "channel": "sms", "business": BUSINESS}
        # The engine: the SMS accepted by the provider, then its status callback says delivered (twice).
        for stage in (Stage.SENT, Stage.DELIVERED, Stage.DELIVERED):
            await funnel.record(session, subject=funnel.recipient_subject(41), stage=stage, at=NOW, **group)
        await session.commit()

    page = urlsplit(issued.url).path
    assert (await api.get(page)).status_code == 200
    assert (await api.get(page)).status_code == 200  # opened again: one person, one "opened"
    answers: dict = {}
    step = (await api.post(f"{page}/checklist", json={"answers": answers})).json()
    while not step["done"]:
        question = step["question"]
        answers[question["id"]] = (False if question["type"] == "yes_no" else question["choices"][0]["id"]
                                   if question["type"] == "choice" else question["min"])
        step = (await api.post(f"{page}/checklist", json={"answers": answers})).json()
    went = await api.post(f"{page}/go")
    assert went.status_code == 303
    value = parse_qs(urlsplit(went.headers["location"]).query)[handoff.PARAM][0]

    # Two days later the business system reports the business done, naming the hand-off.
    outreach.clock.advance(days=2)
    body = json.dumps({"handoff": value, "business": BUSINESS, "status": "completed",
                       "completed_at": (NOW + timedelta(days=2)).isoformat(), "nonce": "n-0001-abcdef"}).encode()
    timestamp = str(int(outreach.clock.now().timestamp()))
    signature = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Hpf-Timestamp": timestamp, "X-Hpf-Signature": signature, "Content-Type": "application/json"}
    done = await api.post("/api/v1/outreach/completions", content=body, headers=headers)
    assert done.status_code == 200 and done.json()["counted"] is True, done.text
    replayed = await api.post("/api/v1/outreach/completions", content=body, headers=headers)
    assert (replayed.status_code, replayed.json()["code"]) == (409, "replayed")

    supervisor = await login(outreach, "lead", Role.SUPERVISOR)
    shown = (await api.get("/api/v1/outreach/funnel", headers=supervisor)).json()
    [person] = shown["rows"]
    assert (person["campaign_id"], person["segment"], person["channel"], person["business"]) == \
        (3, "no-repay-withdrawal", "sms", BUSINESS)
    assert person["counts"] == {stage.value: 1 for stage in Stage}
    assert person["overall"]["completed"] == 1.0
