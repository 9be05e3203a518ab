"""Personal 一点就能办 links: the token, the page and its refusals, the checklist, the signed hand-off to the
business form, the staff API, the console's send-link and the bot's personal links."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from agent_console.context import Console
from agent_console.models import Handoff, HandoffState
from conversations.hub import Hub
from conversations.inbound import CitizenKey, Inbound
from conversations.models import Author, Channel, Citizen, Identity, Message
from conversations.replies import Reply
from core.bus import LocalBus
from outreach import handoff, links
from outreach.context import Outreach
from outreach.models import DepositorLink, FunnelEvent, OutreachLink
from outreach.personalise import LinkPersonaliser
from outreach.routes import link_pages
from outreach.routes import links as link_routes
from staff.models import AuditEntry, Role
from tests.callout.helpers import FrozenClock, client, local, staff_login
from tests.outreach.helpers import PUBLIC, on_database, outreach_app

NOW = local(2026, 12, 7, 10, 0)
BUSINESS = "withdraw-repay-commercial-loan"
FORM = "https://housefund.hd.gov.cn/wt/withdraw/repay-commercial"
# What a page about a person must never show once refused: their name, figures, the business.
PERSONAL = ("张*明", "45.6", "偿还商业贷款")


@pytest.fixture
async def outreach(database_url, tmp_path):
    async with on_database(Outreach, database_url, tmp_path, FrozenClock(NOW)) as made:
        yield made


class Bot:
    """The bot's answer to anything: the repayment-withdrawal article with its business form."""

    async def send(self, conversation_id: str, text: str, metadata: dict | None = None) -> list[Reply]:
        return [Reply(text="可以提取公积金偿还商业贷款。", links=[{"title": "偿还商业贷款提取申请", "url": FORM}],
                      sources=[{"article_id": "withdraw-repay-commercial-loan", "title": "偿还商贷提取"}])]


@pytest.fixture
def hub(outreach) -> Hub:
    return Hub(outreach.sessions, LocalBus(), Bot(), None, "12329", 3.0)  # type: ignore[arg-type]


@pytest.fixture
async def api(outreach, hub):
    console = Console(settings=outreach.settings, sessions=outreach.sessions, bus=LocalBus(),
                      hub=hub, bot=None, knowledge=None)  # type: ignore[arg-type]
    app = outreach_app(outreach, (Console, console), routers=(link_pages.router, link_routes.router))
    async with client(app) as http:
        yield http


async def app_citizen(outreach: Outreach, citizen_id: str, user_id: str) -> None:
    async with outreach.sessions() as session:
        session.add(Citizen(id=citizen_id))
        session.add(Identity(citizen_id=citizen_id, kind=Channel.APP, value=user_id))
        await session.commit()


async def made(outreach: Outreach, *, answers: dict | None = None, ttl_s: int = 7 * 86400,
               recipient_id: int | None = 41, business: str = BUSINESS) -> links.IssuedLink:
    """A campaign's link for a borrower whose data says the loan is a housing loan of their own."""
    row, issued = links.new_link(
        outreach.settings, business=business, now=NOW, depositor_ref="ref-abc", ttl_s=ttl_s,
        facts={"姓名": "张*明", "贷款余额": "45.6 万元"},
        answers={"loan_type": "housing", "borrower": "self"} if answers is None else answers,
        campaign_id=3, recipient_id=recipient_id, segment="no-repay-withdrawal", channel="sms",
    )
    async with outreach.sessions() as session:
        session.add(row)
        await session.commit()
    return issued


def path_of(url: str) -> str:
    return urlsplit(url).path


async def stages(outreach: Outreach) -> set[tuple[str, str]]:
    async with outreach.sessions() as session:
        return {(e.subject, e.stage) for e in (await session.scalars(select(FunnelEvent))).all()}


# -- the token and its refusals --------------------------------------------------------------------

async def test_the_url_carries_only_an_opaque_signed_token(outreach):
    issued = await made(outreach)
    assert issued.url.startswith(f"{PUBLIC}/o/")
    token = issued.url.rsplit("/", 1)[1]
    link_id, _, mac = token.partition(".")
    assert link_id == issued.id and mac and "?" not in issued.url
    assert links.link_id_of(outreach.settings, token) == issued.id
    assert issued.expires_at == NOW + timedelta(days=7)
    for text in ("张", "45", "ref-abc", BUSINESS, "41"):
        assert text not in token


async def test_the_page_shows_facts_answered_questions_open_questions_and_documents(outreach, api):
    issued = await made(outreach)
    page = await api.get(path_of(issued.url))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert "偿还商业贷款提取申请" in html and "张*明" in html and "45.6 万元" in html
    # Answered by the data, shown with the answer; still open, asked (the first one shown).
    assert 'data-answered="loan_type"' in html and "买房或建房的个人住房贷款（按揭）" in html
    assert 'data-answered="borrower"' in html
    assert 'class="question current" data-question="overdue"' in html
    assert "需要准备的材料" in html and "去办理" in html
    assert "<script" not in html.split('<script src="/outreach/static/link.js">')[0]  # no inline script


async def test_values_on_the_page_are_escaped(outreach, api):
    row, issued = links.new_link(outreach.settings, business=BUSINESS, now=NOW,
                                 facts={"姓名": "<script>alert(1)</script>"})
    async with outreach.sessions() as session:
        session.add(row)
        await session.commit()
    html = (await api.get(path_of(issued.url))).text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["x-outreach-code"] == code
    assert f'data-code="{code}"' in response.text
    assert response.headers["cache-control"] == "no-store"
    for personal in PERSONAL:
        assert personal not in response.text
    assert re.search(r"[\u4e00-\u9fff]", response.text)


async def test_a_tampered_token_is_refused_with_nothing_disclosed(outreach, api):
    issued = await made(outreach)
    path = path_of(issued.url)
    link_id, mac = path.removeprefix("/o/").split(".")
    forged = f"/o/{link_id}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    assert_refused(await api.get(forged), 403, "link_invalid")
    assert_refused(await api.get(f"/o/{link_id}"), 403, "link_invalid")
    assert_refused(await api.get("/o/" + "x" * 200), 403, "link_invalid")
    # Signed by us but never stored (a database restored from before it): not found.
    unknown = links.token_for(outreach.settings, "no-such-link")
    assert_refused(await api.get(f"/o/{unknown}"), 404, "link_not_found")
    answer = await api.post(f"{forged}/checklist", json={"answers": {}})
    assert answer.status_code == 403 and answer.json()["code"] == "link_invalid"
    assert_refused(await api.post(f"{forged}/go"), 403, "link_invalid")


async def test_an_expired_link_is_gone(outreach, api):
    issued = await made(outreach, ttl_s=3600)
    path = path_of(issued.url)
    assert (await api.get(path)).status_code == 200
    outreach.clock.advance(seconds=3600)
    assert_refused(await api.get(path), 410, "link_expired")
    answer = await api.post(f"{path}/checklist", json={"answers": {}})
    assert answer.status_code == 410 and answer.json()["code"] == "link_expired"
    assert_refused(await api.post(f"{path}/go"), 410, "link_expired")


async def test_a_revoked_link_is_gone_with_its_own_message(outreach, api):
    issued = await made(outreach)
    agent_id, headers = await staff_login(outreach, "lead", Role.SUPERVISOR)
    revoked = await api.post(f"/api/v1/outreach/links/{issued.id}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["id"] == issued.id
    page = await api.get(path_of(issued.url))
    assert_refused(page, 410, "link_revoked")
    assert "停用" in page.text


async def test_a_link_to_a_business_no_longer_offered_is_gone(outreach, api):
    issued = await made(outreach, business="withdraw-retired-business")
    assert_refused(await api.get(path_of(issued.url)), 410, "business_withdrawn")


# -- opening, the checklist and the hand-off --------------------------------------------------------

async def test_opens_are_counted_and_the_funnel_gets_one_opened_row(outreach, api):
    issued = await made(outreach)
    for _ in range(3):
        assert (await api.get(path_of(issued.url))).status_code == 200
    async with outreach.sessions() as session:
        link = await session.get(OutreachLink, issued.id)
        assert link is not None and link.opens == 3 and link.opened_at == NOW
    assert await stages(outreach) == {("r:41", "opened")}


async def test_opens_arriving_together_share_a_commit_and_none_is_lost(outreach):
    first, second = await made(outreach), await made(outreach, recipient_id=42)
    writes: list[int] = []
    write = outreach.opens._write

    async def counted(opens):
        writes.append(len(opens))
        await write(opens)

    outreach.opens._write = counted  # type: ignore[method-assign]
    later = NOW + timedelta(minutes=5)
    await asyncio.gather(*(outreach.opens.record(issued.id, at) for issued in (first, second)
                           for at in (later, NOW, later)))
    async with outreach.sessions() as session:
        rows = {link.id: link for link in (await session.scalars(select(OutreachLink))).all()}
    assert (rows[first.id].opens, rows[second.id].opens) == (3, 3)
    assert rows[first.id].opened_at == NOW and rows[second.id].opened_at == NOW  # the earliest of the batch
    assert sum(writes) == 6 and len(writes) < 6, writes  # one open written alone, the rest together
    assert await stages(outreach) == {("r:41", "opened"), ("r:42", "opened")}


async def test_the_checklist_is_completed_with_the_data_answers_and_the_citizens(outreach, api):
    issued = await made(outreach)
    path = path_of(issued.url)
    step = await api.post(f"{path}/checklist", json={"answers": {}})
    assert step.status_code == 200 and step.json() == {"done": False, "question": step.json()["question"]}
    assert step.json()["question"]["id"] == "overdue"
    answers: dict = {"overdue": False}
    body = (await api.post(f"{path}/checklist", json={"answers": answers})).json()
    while not body["done"]:
        question = body["question"]
        answers[question["id"]] = (False if question["type"] == "yes_no" else question["choices"][0]["id"]
                                   if question["type"] == "choice" else question["min"])
        body = (await api.post(f"{path}/checklist", json={"answers": answers})).json()
    assert body["outcome"] in ("eligible", "review", "not_eligible") and isinstance(body["documents"], list)
    # The data's answers win: the citizen cannot turn a housing loan into a consumer loan here.
    again = (await api.post(f"{path}/checklist", json={"answers": {**answers, "loan_type": "other"}})).json()
    assert again["outcome"] == body["outcome"]
    assert ("r:41", "checklist") in await stages(outreach)
    bad = await api.post(f"{path}/checklist", json={"answers": {"overdue": "maybe"}})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_answer"


async def test_go_hands_off_with_a_signature_the_business_system_can_verify(outreach, api):
    issued = await made(outreach)
    response = await api.post(f"{path_of(issued.url)}/go")
    assert response.status_code == 303
    assert response.headers["referrer-policy"] == "no-referrer"
    target = urlsplit(response.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == FORM
    value = parse_qs(target.query)[handoff.PARAM][0]
    secret = outreach.settings.outreach_business_secret.get_secret_value()
    checked = handoff.verify(secret, value, now=NOW, business=BUSINESS)
    assert (checked.link_id, checked.business, checked.depositor_ref) == (issued.id, BUSINESS, "ref-abc")
    assert checked.expires_at - checked.issued_at == handoff.LIFETIME_S
    assert ("r:41", "handed_off") in await stages(outreach)
    # Tampered, wrong key, too late, another form: refused.
    payload, signature = value.split(".")
    for forged in (f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}", f"{payload}.{signature[:-2]}",
                   "not-a-handoff", ""):
        with pytest.raises(handoff.HandoffError):
            handoff.verify(secret, forged, now=NOW)
    with pytest.raises(handoff.HandoffError, match="bad_signature"):
        handoff.verify("another-secret", value, now=NOW)
    with pytest.raises(handoff.HandoffError, match="expired"):
        handoff.verify(secret, value, now=NOW + timedelta(seconds=handoff.LIFETIME_S))
    with pytest.raises(handoff.HandoffError, match="wrong_business"):
        handoff.verify(secret, value, now=NOW, business="loan-apply")
    second = (await api.post(f"{path_of(issued.url)}/go")).headers["location"]
    assert handoff.verify(secret, parse_qs(urlsplit(second).query)[handoff.PARAM][0], now=NOW).nonce != checked.nonce


async def test_a_link_without_a_recipient_counts_under_its_own_subject(outreach, api):
    issued = await made(outreach, recipient_id=None)
    await api.get(path_of(issued.url))
    await api.post(f"{path_of(issued.url)}/go")
    assert await stages(outreach) == {(f"l:{issued.id}", "opened"), (f"l:{issued.id}", "handed_off")}


# -- the staff API ----------------------------------------------------------------------------------

@pytest.mark.parametrize("ttl_s", [1, 5])
async def test_the_interface_a_short_lived_link_opens_then_refuses_alteration_and_is_gone_after_its_life(
        outreach, api, ttl_s):
    _, headers = await staff_login(outreach, "agent1", Role.AGENT)
    out = await api.post("/api/v1/outreach/links", json={"business": BUSINESS, "user_id": "app-user-9",
                                                         "ttl_s": ttl_s}, headers=headers)
    assert out.status_code == 201, out.text
    path = path_of(out.json()["url"])
    assert (await api.get(path)).status_code == 200
    altered = path[:-1] + ("A" if path[-1] != "A" else "B")
    assert (await api.get(altered)).status_code in (403, 404)
    outreach.clock.advance(seconds=ttl_s)
    assert_refused(await api.get(path), 410, "link_expired")


async def test_issuing_a_link_for_an_app_user(outreach, api):
    await app_citizen(outreach, "citizen-1", "app-user-1")
    body = {"business": BUSINESS, "user_id": "app-user-1", "ttl_s": 3600}
    assert (await api.post("/api/v1/outreach/links", json=body)).status_code == 401
    agent_id, headers = await staff_login(outreach, "agent1", Role.AGENT)
    response = await api.post("/api/v1/outreach/links", json=body, headers=headers)
    assert response.status_code == 201, response.text
    out = response.json()
    assert set(out) == {"url", "id", "expires_at"}
    assert datetime.fromisoformat(out["expires_at"]) == NOW + timedelta(seconds=3600)
    assert (await api.get(path_of(out["url"]))).status_code == 200
    async with outreach.sessions() as session:
        link = await session.get(OutreachLink, out["id"])
        assert link is not None and link.citizen_id == "citizen-1" and link.created_by == agent_id
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "outreach_link_issued"))
        assert entry is not None and entry.target == f"link:{out['id']}"
    assert (f"l:{out['id']}", "sent") in await stages(outreach)
    listed = (await api.get("/api/v1/outreach/links", params={"citizen_id": "citizen-1"}, headers=headers)).json()
    assert [row["id"] for row in listed["links"]] == [out["id"]] and listed["links"][0]["state"] == "active"
    assert listed["links"][0]["url"] == out["url"]
    # Another agent sees that the citizen has the link, not the link itself (the URL is the key).
    _, other = await staff_login(outreach, "agent2", Role.AGENT)
    seen = (await api.get("/api/v1/outreach/links", params={"citizen_id": "citizen-1"}, headers=other)).json()
    assert seen["links"][0]["id"] == out["id"] and seen["links"][0]["url"] is None


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"business": "no-such-business", "user_id": "app-user-1"}, 422, "unknown_business"),
    ({"business": BUSINESS, "user_id": "app-user-1", "ttl_s": 0}, 422, "invalid_ttl"),
    ({"business": BUSINESS, "user_id": "app-user-1", "ttl_s": 91 * 86400}, 422, "invalid_ttl"),
    ({"business": BUSINESS}, 422, "invalid_request"),
])
async def test_issuing_refuses_bad_requests(outreach, api, body, status, code):
    await app_citizen(outreach, "citizen-1", "app-user-1")
    _, headers = await staff_login(outreach, "agent1", Role.AGENT)
    response = await api.post("/api/v1/outreach/links", json=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_a_link_for_an_app_user_who_never_chatted_makes_them_a_citizen_once(outreach, api):
    _, headers = await staff_login(outreach, "agent1", Role.AGENT)
    body = {"business": BUSINESS, "user_id": "app-user-new"}
    first, second = [await api.post("/api/v1/outreach/links", json=body, headers=headers) for _ in range(2)]
    assert first.status_code == second.status_code == 201
    async with outreach.sessions() as session:
        owners = (await session.scalars(select(Identity.citizen_id).where(
            Identity.kind == Channel.APP, Identity.value == "app-user-new"))).all()
        made = (await session.scalars(select(OutreachLink.citizen_id).where(
            OutreachLink.id.in_([first.json()["id"], second.json()["id"]])))).all()
    assert len(owners) == 1 and set(made) == {owners[0]}
    assert (await api.get(path_of(first.json()["url"]))).status_code == 200


async def test_only_the_issuer_or_a_supervisor_revokes(outreach, api):
    await app_citizen(outreach, "citizen-1", "app-user-1")
    _, issuer = await staff_login(outreach, "agent1", Role.AGENT)
    _, other = await staff_login(outreach, "agent2", Role.AGENT)
    out = (await api.post("/api/v1/outreach/links", json={"business": BUSINESS, "user_id": "app-user-1"},
                          headers=issuer)).json()
    refused = await api.post(f"/api/v1/outreach/links/{out['id']}/revoke", headers=other)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (await api.post(f"/api/v1/outreach/links/{out['id']}/revoke", headers=issuer)).status_code == 200
    assert (await api.get(path_of(out["url"]))).status_code == 410
    missing = await api.post("/api/v1/outreach/links/nope/revoke", headers=issuer)
    assert missing.status_code == 404 and missing.json()["code"] == "link_not_found"


async def test_the_businesses_are_listed_with_their_checklists(outreach, api):
    _, headers = await staff_login(outreach, "agent1", Role.AGENT)
    listed = (await api.get("/api/v1/outreach/businesses", headers=headers)).json()["businesses"]
    by_key = {row["key"]: row for row in listed}
    assert by_key[BUSINESS]["checklist"] == "repay-commercial-loan"
    assert by_key["account-query"]["checklist"] is None


# -- the console and the bot ------------------------------------------------------------------------

async def test_the_agent_holding_a_conversation_sends_a_personal_link_into_it(outreach, api, hub):
    agent_id, headers = await staff_login(outreach, "agent1", Role.AGENT)
    _, other = await staff_login(outreach, "agent2", Role.AGENT)
    conversation = await hub.open_conversation(channel=Channel.APP, kind=Channel.APP, value="app-user-9")
    async with outreach.sessions() as session:
        session.add(Handoff(conversation_id=conversation.id, citizen_id=conversation.citizen_id, channel="app",
                            state=HandoffState.ASSIGNED, open_key=conversation.id, reason="citizen_request",
                            agent_id=agent_id))
        await session.commit()
    path = f"/api/v1/outreach/conversations/{conversation.id}/links"
    refused = await api.post(path, json={"business": BUSINESS}, headers=other)
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_conversation"
    response = await api.post(path, json={"business": BUSINESS}, headers=headers)
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["message"]["author"] == "agent" and sent["message"]["payload"]["links"][0]["url"] == sent["link"]["url"]
    async with outreach.sessions() as session:
        stored = (await session.scalars(select(Message).where(Message.conversation_id == conversation.id))).all()
        link = await session.get(OutreachLink, sent["link"]["id"])
    assert [m.author for m in stored] == [Author.AGENT] and "偿还商业贷款提取申请" in stored[0].text
    assert link is not None and link.citizen_id == conversation.citizen_id and link.channel == "app"
    # A supervisor may step in; a conversation that does not exist is said so.
    _, lead = await staff_login(outreach, "lead", Role.SUPERVISOR)
    assert (await api.post(path, json={"business": BUSINESS}, headers=lead)).status_code == 201
    missing = await api.post("/api/v1/outreach/conversations/nope/links", json={"business": BUSINESS}, headers=lead)
    assert missing.status_code == 404 and missing.json()["code"] == "conversation_not_found"


async def test_the_bot_gives_a_known_depositor_a_personal_link_and_others_the_form(outreach, hub):
    hub.register_link_personaliser(LinkPersonaliser(outreach))
    known = await hub.open_conversation(channel=Channel.APP, kind=Channel.APP, value="known-user")
    # A campaign reached them earlier: its facts and the data's answers carry over to the bot's link.
    campaign_row, _ = links.new_link(outreach.settings, business=BUSINESS, now=NOW - timedelta(days=30),
                                     ttl_s=86400, citizen_id=known.citizen_id, facts={"姓名": "李*"},
                                     answers={"loan_type": "housing"}, campaign_id=5, recipient_id=99)
    async with outreach.sessions() as session:
        session.add(DepositorLink(depositor_ref="ref-known", citizen_id=known.citizen_id))
        session.add(campaign_row)
        await session.commit()
    turn = await hub.receive(known, Inbound(Channel.APP, CitizenKey(Channel.APP, "known-user"), "怎么提取还商贷"))
    url = turn.replies[0].links[0]["url"]
    assert url.startswith(f"{PUBLIC}/o/") and turn.replies[0].links[0]["title"] == "偿还商业贷款提取申请"
    async with outreach.sessions() as session:
        link = await session.get(OutreachLink, links.link_id_of(outreach.settings, url.rsplit("/", 1)[1]))
        assert link is not None and link.depositor_ref == "ref-known" and link.business == BUSINESS
        assert (link.facts, link.answers, link.campaign_id) == ({"姓名": "李*"}, {"loan_type": "housing"}, None)
    # Asking again gives the same link, not a new one.
    again = await hub.receive(known, Inbound(Channel.APP, CitizenKey(Channel.APP, "known-user"), "再说一遍"))
    assert again.replies[0].links[0]["url"] == url
    stranger = await hub.open_conversation(channel=Channel.APP, kind=Channel.APP, value="stranger")
    plain = await hub.receive(stranger, Inbound(Channel.APP, CitizenKey(Channel.APP, "stranger"), "怎么提取还商贷"))
    assert plain.replies[0].links[0]["url"] == FORM


def test_the_documented_hand_off_vector_verifies_as_documented():
    """docs/outreach.md's test vector: what the business system is told to check is what verify checks."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "outreach.md").read_text(encoding="utf-8")
    section = text.split("## Hand-off to the business system", 1)[1].split("\n## ", 1)[0]
    value = next(line.strip() for line in section.splitlines() if line.startswith("    eyJ"))
    at = datetime.fromtimestamp(1796700100, timezone.utc)
    checked = handoff.verify("s3cret", value, now=at, business="withdraw-repay-commercial-loan")
    assert (checked.link_id, checked.depositor_ref, checked.nonce) == ("q1Xr8mW3kZ0aB4cD5eF6gA", "r3f9a", "Zk3nQ0c1")
    with pytest.raises(handoff.HandoffError, match="expired"):
        handoff.verify("s3cret", value, now=datetime.fromtimestamp(1796700600, timezone.utc))
    with pytest.raises(handoff.HandoffError, match="bad_signature"):
        handoff.verify("s3cret", value.replace(".P", ".Q"), now=at)


async def test_a_business_without_a_checklist_goes_straight_to_the_form(outreach, api):
    issued = await made(outreach, business="account-query", answers={})
    path = path_of(issued.url)
    page = await api.get(path)
    assert page.status_code == 200 and 'id="checklist"' not in page.text and "网上办事大厅页面的提示" in page.text
    answer = await api.post(f"{path}/checklist", json={"answers": {}})
    assert answer.status_code == 404 and answer.json()["code"] == "no_checklist"
    go = await api.post(f"{path}/go")
    assert go.status_code == 303 and go.headers["location"].startswith("https://housefund.hd.gov.cn/wt/account/query?")
