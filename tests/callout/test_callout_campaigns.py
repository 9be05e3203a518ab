"""Preparing, approving and starting campaigns through the API: the audience checked row by row, the
texts' variables checked at creation, four eyes, roles, counts, the dry run."""
from __future__ import annotations

import io
import json

from openpyxl import Workbook

from staff.models import Role
from tests.callout.helpers import campaign_body, local, login, people


async def test_create_reports_bad_rows_and_refuses_nothing_good(api, callout):
    preparer = await login(callout, "planner", Role.CAMPAIGNER)
    recipients = people(3, amount="1200") + [
        {"phone": "12345", "name": "号码太短", "amount": "1"},
        {"phone": "13900000001", "name": "重复", "amount": "1"},
        {"phone": "+85291234567", "name": "香港号码", "amount": "1"},
        {"phone": "4008001234", "name": "企业号码", "amount": "1"},
        {"phone": "13911112222", "name": "缺金额", "amount": ""},
    ]
    answer = await api.post("/api/v1/campaigns", json=campaign_body(recipients), headers=preparer)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "draft" and body["accepted"] == 3
    codes = {row["row"]: row["code"] for row in body["rejected"]}
    assert codes == {4: "phone_malformed", 5: "phone_duplicate", 6: "phone_not_mainland", 7: "phone_not_personal",
                     8: "variable_missing"}
    assert all("*" in row["phone"] or row["phone"] == "" for row in body["rejected"])
    assert "与第2行的号码重复" in body["rejected"][1]["reason"]
    shown = (await api.get(f"/api/v1/campaigns/{body['id']}", headers=preparer)).json()
    assert shown["counts"]["total"] == 3 and shown["counts"]["pending"] == 3
    assert shown["variables"] == ["name", "amount"]
    assert shown["windows"] == [["09:00", "20:00"]] and shown["days"] == [1, 2, 3, 4, 5]


async def test_unknown_variable_is_refused_at_creation(api, callout):
    preparer = await login(callout, "planner", Role.CAMPAIGNER)
    body = campaign_body(people(2, amount="5"), message="{name}您好，您的{balance}元……")
    answer = await api.post("/api/v1/campaigns", json=body, headers=preparer)
    assert answer.status_code == 422
    assert answer.json()["code"] == "unknown_variable" and answer.json()["variable"] == "balance"
    bad = await api.post("/api/v1/campaigns", json=campaign_body(people(1), message="您好{name!r}"), headers=preparer)
    assert bad.json()["code"] == "placeholder_invalid"
    nobody = await api.post("/api/v1/campaigns", json=campaign_body([{"phone": "1", "name": "x", "amount": "1"}]),
                            headers=preparer)
    assert nobody.status_code == 422 and nobody.json()["code"] == "no_valid_recipients"
    assert nobody.json()["rejected"][0]["code"] == "phone_malformed"
    window = await api.post("/api/v1/campaigns", json=campaign_body(people(1, amount="1"),
                            window={"start": "20:00", "end": "09:00"}), headers=preparer)
    assert window.json()["code"] == "window_invalid"


async def test_upload_csv_and_xlsx_with_row_report(api, callout):
    preparer = await login(callout, "planner", Role.CAMPAIGNER)
    spec = campaign_body([])
    spec.pop("recipients")

    csv_text = "手机号,姓名,amount\n13900000001,张三,100\n13900000001,李四,200\n010-12345678,王五,300\nabc,赵六,1\n"
    answer = await api.post("/api/v1/campaigns/import", data={"campaign": json.dumps(spec)},
                            files={"file": ("名单.csv", csv_text.encode("gb18030"), "text/csv")}, headers=preparer)
    assert answer.status_code == 201, answer.text
    assert answer.json()["accepted"] == 2
    assert [(r["row"], r["code"]) for r in answer.json()["rejected"]] == [(3, "phone_duplicate"), (5, "phone_malformed")]

    book = Workbook()
    sheet = book.active
    sheet.append(["phone", "name", "amount"])
    sheet.append([13900000011, "张三", 100])  # Excel keeps a phone column as numbers
    sheet.append(["+86 139 0000 0012", "李四", 250.5])
    sheet.append([None, None, None])
    sheet.append(["13900000013", "王五", None])
    data = io.BytesIO()
    book.save(data)
    answer = await api.post("/api/v1/campaigns/import", data={"campaign": json.dumps(spec)},
                            files={"file": ("list.xlsx", data.getvalue(), "application/octet-stream")},
                            headers=preparer)
    assert answer.status_code == 201, answer.text
    assert answer.json()["accepted"] == 2
    assert [(r["row"], r["code"]) for r in answer.json()["rejected"]] == [(5, "variable_missing")]
    wrong = await api.post("/api/v1/campaigns/import", data={"campaign": json.dumps(spec)},
                           files={"file": ("list.txt", b"x", "text/plain")}, headers=preparer)
    assert wrong.status_code == 422 and wrong.json()["code"] == "file_type_unsupported"
    broken = await api.post("/api/v1/campaigns/import", data={"campaign": json.dumps(spec)},
                            files={"file": ("list.xlsx", b"not a zip", "application/octet-stream")}, headers=preparer)
    assert broken.status_code == 422 and broken.json()["code"] == "file_unreadable"
    nospec = await api.post("/api/v1/campaigns/import", data={"campaign": "{"},
                            files={"file": ("a.csv", b"phone\n13900000001\n", "text/csv")}, headers=preparer)
    assert nospec.status_code == 422 and nospec.json()["code"] == "campaign_invalid"


async def test_four_eyes_and_roles(line):
    api, callout = line.api, line.callout
    supervisor = await login(callout, "lead", Role.SUPERVISOR)
    other = await login(callout, "lead2", Role.SUPERVISOR)
    planner = await login(callout, "planner", Role.CAMPAIGNER)
    agent = await login(callout, "agent", Role.AGENT)
    assert (await api.post("/api/v1/campaigns", json=campaign_body(people(2, amount="1")),
                           headers=agent)).status_code == 403
    assert (await api.get("/api/v1/campaigns", headers=agent)).status_code == 403
    assert (await api.get("/api/v1/campaigns")).status_code == 401

    made = (await api.post("/api/v1/campaigns", json=campaign_body(people(2, amount="1")), headers=supervisor)).json()
    own = await api.post(f"/api/v1/campaigns/{made['id']}/approve", headers=supervisor)
    assert own.status_code == 403 and own.json()["code"] == "own_campaign"
    by_planner = await api.post(f"/api/v1/campaigns/{made['id']}/approve", headers=planner)
    assert by_planner.status_code == 403 and by_planner.json()["code"] == "forbidden"
    early = await api.post(f"/api/v1/campaigns/{made['id']}/start", headers=planner)
    assert early.status_code == 409 and early.json()["code"] == "campaign_state" and early.json()["found"] == "draft"

    approved = await api.post(f"/api/v1/campaigns/{made['id']}/approve", headers=other)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    again = await api.post(f"/api/v1/campaigns/{made['id']}/approve", headers=other)
    assert again.status_code == 409
    started = await api.post(f"/api/v1/campaigns/{made['id']}/start", headers=planner)
    assert started.status_code == 200 and started.json()["status"] == "running"
    assert started.json()["counts"]["pending"] == 2
    paused = (await api.post(f"/api/v1/campaigns/{made['id']}/pause", headers=planner)).json()
    assert paused["status"] == "paused"
    assert (await api.post(f"/api/v1/campaigns/{made['id']}/resume", headers=planner)).json()["status"] == "running"
    cancelled = (await api.post(f"/api/v1/campaigns/{made['id']}/cancel", headers=planner)).json()
    assert cancelled["status"] == "cancelled" and cancelled["counts"]["cancelled"] == 2
    assert (await api.get("/api/v1/campaigns/999", headers=planner)).json()["code"] == "campaign_not_found"


async def test_suppressions_are_added_once_and_settle_waiting_recipients(api, callout):
    planner = await login(callout, "planner", Role.CAMPAIGNER)
    agent = await login(callout, "agent", Role.AGENT)
    await api.post("/api/v1/outreach/suppressions", json={"phone": "13900000003"}, headers=agent)
    made = (await api.post("/api/v1/campaigns", json=campaign_body(people(5, amount="1")), headers=planner)).json()
    assert made["suppressed"] == 1 and made["accepted"] == 5
    added = await api.post("/api/v1/outreach/suppressions", json={"phone": "+86 139-0000-0001", "reason": "本人要求"},
                           headers=agent)
    assert added.status_code == 201 and added.json()["phone"] == "139****0001" and added.json()["created"]
    again = await api.post("/api/v1/outreach/suppressions", json={"phone": "13900000001"}, headers=agent)
    assert again.status_code == 200 and not again.json()["created"]
    bad = await api.post("/api/v1/outreach/suppressions", json={"phone": "hello"}, headers=agent)
    assert bad.status_code == 422 and bad.json()["code"] == "phone_malformed"
    counts = (await api.get(f"/api/v1/campaigns/{made['id']}", headers=planner)).json()["counts"]
    assert counts["suppressed"] == 2 and counts["pending"] == 3

    csv_text = "phone\n13900000002\n13900000001\nnot-a-number\n"
    imported = await api.post("/api/v1/outreach/suppressions/import", headers=planner,
                              files={"file": ("list.csv", csv_text.encode(), "text/csv")})
    report = imported.json()
    assert (report["added"], report["already"]) == (1, 1)
    assert [(r["row"], r["code"]) for r in report["rejected"]] == [(4, "phone_malformed")]
    counts = (await api.get(f"/api/v1/campaigns/{made['id']}", headers=planner)).json()["counts"]
    assert counts["suppressed"] == 3


async def test_dry_run_shows_who_when_and_what(api, callout, clock):
    clock.at = local(2026, 12, 4, 19, 59, 58)  # a Friday, two seconds before the window closes
    planner = await login(callout, "planner", Role.CAMPAIGNER)
    made = (await api.post("/api/v1/campaigns", json=campaign_body(people(4, amount="88")), headers=planner)).json()
    plan = (await api.get(f"/api/v1/campaigns/{made['id']}/dry-run?limit=3", headers=planner)).json()
    assert plan["total"] == 4 and plan["shown"] == 3
    first = plan["contacts"][0]
    assert first["text"].startswith("市民0您好") and "应还88元" in first["text"]
    assert first["phone"] == "139****0000"
    assert [c["at"][:19] for c in plan["contacts"]] == [
        "2026-12-04T19:59:58", "2026-12-04T19:59:59", "2026-12-07T09:00:00"]  # the weekend is skipped


async def test_no_start_without_a_phone_line(api, callout):
    planner = await login(callout, "planner", Role.CAMPAIGNER)
    lead = await login(callout, "lead", Role.SUPERVISOR)
    made = (await api.post("/api/v1/campaigns", json=campaign_body(people(1, amount="1")), headers=planner)).json()
    await api.post(f"/api/v1/campaigns/{made['id']}/approve", headers=lead)
    refused = await api.post(f"/api/v1/campaigns/{made['id']}/start", headers=planner)
    assert refused.status_code == 503 and refused.json()["code"] == "outbound_not_configured"
    assert "TWILIO_CALLER_ID" in refused.json()["missing"]
