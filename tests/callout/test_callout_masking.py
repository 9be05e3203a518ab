"""Phone numbers in reports are masked for everyone, supervisors and admins included: the engine dials,
nobody reading a report needs the whole number (and a person put through to an agent arrives as a call
in the console, not as a number to dial)."""
from __future__ import annotations

from staff.models import Role
from tests.callout.helpers import campaign_body, login, people


async def test_every_role_sees_masked_numbers_only(api, callout):
    planner = await login(callout, "planner", Role.CAMPAIGNER)
    made = await api.post("/api/v1/campaigns", json=campaign_body(people(3, amount="100")), headers=planner)
    assert made.status_code == 201, made.text
    campaign_id = made.json()["id"]
    readers = {"campaigner": planner, "supervisor": await login(callout, "lead", Role.SUPERVISOR),
               "admin": await login(callout, "boss", Role.ADMIN)}
    for role, headers in readers.items():
        page = (await api.get(f"/api/v1/campaigns/{campaign_id}/recipients", headers=headers)).json()
        detail = (await api.get(f"/api/v1/campaigns/{campaign_id}/recipients/{page['recipients'][0]['id']}",
                                headers=headers)).json()
        export = (await api.get(f"/api/v1/campaigns/{campaign_id}/export.csv", headers=headers)).text
        plan = (await api.get(f"/api/v1/campaigns/{campaign_id}/dry-run", headers=headers)).json()
        shown = [r["phone"] for r in page["recipients"]] + [detail["phone"]] + [c["phone"] for c in plan["contacts"]]
        assert shown and all(p.startswith("139****") for p in shown), role
        for text in (str(page), str(detail), export, str(plan)):
            assert "13900000001" not in text and "+86139" not in text, role
        assert "139****0001" in export, role
