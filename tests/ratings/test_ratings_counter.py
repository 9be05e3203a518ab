"""好差评 at the counter, on SQLite and PostgreSQL: windows managed by supervisors, the signed QR code and
its printable sheet, the rating page a code opens, one rating per visit, and every refusal: a forged,
altered or reissued code, a closed window, an expired visit, a level of 0 or 6, a flood from one address."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select

from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from ratings import counters
from ratings.context import Ratings
from ratings.models import CounterWindow, Rating, RectificationCase
from ratings.routes import counter_page as page_routes
from ratings.routes import counters as counter_routes
from staff import passwords
from staff.models import AuditEntry, Role
from tests.agent_console.helpers import CHEAP_HASHER
from tests.callout.helpers import FrozenClock, client, local, service_app, staff_login
from tests.databases import postgres_database

PUBLIC = "https://gjj.example.gov.cn"
BASE = "/api/v1/ratings/counters"
RATE = "/api/v1/ratings/counter"


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", CHEAP_HASHER)


@pytest.fixture(scope="session")
def suite_postgres_url(postgres_url: str) -> str:
    return postgres_database(postgres_url, "ratings_counter")


@dataclass
class Counter:
    ratings: Ratings
    clock: FrozenClock
    api: httpx.AsyncClient
    supervisor: dict[str, str]
    staff_id: int

    async def window(self, **extra: object) -> dict:
        made = await self.api.post(BASE, json={"office": "hanshan", "window": "3", "agent_id": self.staff_id, **extra},
                                   headers=self.supervisor)
        assert made.status_code == 201, made.text
        return made.json()

    async def open(self, url: str) -> tuple[httpx.Response, str | None]:
        """Open the page a QR code encodes: the answer and the visit token it carries."""
        page = await self.api.get(url.removeprefix(PUBLIC))
        found = re.search(r'data-visit="([^"]+)"', page.text)
        return page, unescape(found.group(1)) if found else None

    async def ratings_stored(self) -> list[Rating]:
        async with self.ratings.sessions() as session:
            return list(await session.scalars(select(Rating).order_by(Rating.id)))


@pytest.fixture
async def counter(database_url, tmp_path):
    engine = make_engine(database_url)
    settings = Settings(data_dir=tmp_path, database_url=database_url, public_base_url=PUBLIC,
                        rating_counter_limit=12)
    clock = FrozenClock(local(2026, 12, 7, 10, 0))
    ratings = Ratings(settings=settings, sessions=make_sessionmaker(engine), bus=LocalBus(), clock=clock)
    app = service_app(settings, ratings.sessions, (Ratings, ratings),
                      routers=[counter_routes.router, page_routes.router])
    async with client(app) as api:
        _id, supervisor = await staff_login(ratings, "counter-lead", Role.SUPERVISOR)
        staff_id, _ = await staff_login(ratings, "zhang.wei", Role.AGENT)
        async with ratings.sessions() as session:  # the citizen sees the display name, never the login
            from staff.models import Agent

            (await session.get(Agent, staff_id)).display_name = "张伟"
            await session.commit()
        yield Counter(ratings=ratings, clock=clock, api=api, supervisor=supervisor, staff_id=staff_id)
    await engine.dispose()


async def test_a_window_gets_a_signed_code_and_a_printable_sheet(counter):
    window = await counter.window()
    assert window["code"] == "hanshan-3" and window["office_name"] == "邯山区管理部"
    assert window["department"] == "邯山区管理部" and window["staff_name"] == "张伟"
    token = window["url"].removeprefix(f"{PUBLIC}/rate/c/")
    assert window["url"].startswith(f"{PUBLIC}/rate/c/") and token != str(window["id"]) and "." in token

    svg = await counter.api.get(f"{BASE}/{window['id']}/qr.svg", headers=counter.supervisor)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg") and "<path" in svg.text
    sheet = await counter.api.get(f"{BASE}/{window['id']}/print", headers=counter.supervisor)
    assert sheet.status_code == 200 and "邯山区管理部" in sheet.text and "3号窗口" in sheet.text
    assert "张伟" in sheet.text and "zhang.wei" not in sheet.text and "<svg" in sheet.text
    assert "script-src 'self'" in sheet.headers["content-security-policy"]

    listed = await counter.api.get(BASE, headers=counter.supervisor)
    assert [c["code"] for c in listed.json()["counters"]] == ["hanshan-3"]
    twice = await counter.api.post(BASE, json={"office": "hanshan", "window": "3"}, headers=counter.supervisor)
    assert twice.status_code == 409 and twice.json()["code"] == "counter_exists"
    unknown = await counter.api.post(BASE, json={"office": "atlantis", "window": "1"}, headers=counter.supervisor)
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_office"
    nobody = await counter.api.post(BASE, json={"office": "hanshan", "window": "4", "agent_id": 99999},
                                    headers=counter.supervisor)
    assert nobody.status_code == 422 and nobody.json()["code"] == "unknown_agent"

    async with counter.ratings.sessions() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("counter_%"))))
    assert actions == ["counter_window_create"]


async def test_only_supervisors_manage_windows(counter):
    _id, agent = await staff_login(counter.ratings, "window-agent", Role.AGENT)
    assert (await counter.api.post(BASE, json={"office": "hanshan", "window": "1"}, headers=agent)).status_code == 403
    assert (await counter.api.get(BASE)).status_code == 401


async def test_a_visit_rates_once_for_the_window_its_staff_and_office(counter):
    window = await counter.window()
    page, visit = await counter.open(window["url"])
    assert page.status_code == 200 and visit
    assert "邯山区管理部" in page.text and "3号窗口" in page.text and "张伟" in page.text
    assert "zhang.wei" not in page.text and "<script>" not in page.text.split("</main>")[0]
    assert "非常满意" in page.text and "非常不满意" in page.text
    assert page.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"]

    comment = "<b>窗口</b><script>alert(1)</script>排队太久"
    rated = await counter.api.post(RATE, json={"visit": visit, "level": 2, "reasons": ["等待时间长"],
                                               "comment": comment})
    assert rated.status_code == 201 and rated.json()["label"] == "不满意"
    again = await counter.api.post(RATE, json={"visit": visit, "level": 5})
    assert again.status_code == 409 and again.json()["code"] == "already_rated"

    [stored] = await counter.ratings_stored()
    assert (stored.kind, stored.channel, stored.counter, stored.agent_id) == ("counter", "counter", "hanshan-3",
                                                                             counter.staff_id)
    assert stored.department == "邯山区管理部" and stored.comment == comment  # kept as text, shown as text
    assert stored.event_key.startswith("counter:hanshan-3:") and stored.citizen_id is None
    async with counter.ratings.sessions() as session:
        case = await session.scalar(select(RectificationCase).where(RectificationCase.rating_id == stored.id))
    assert case is not None and case.department == "邯山区管理部"

    # Each opening of the page is a new visit: the next citizen at the window rates on their own.
    _page, second = await counter.open(window["url"])
    assert second != visit
    assert (await counter.api.post(RATE, json={"visit": second, "level": 5})).status_code == 201


@pytest.mark.parametrize("level", [0, 6, -1, 10])
async def test_a_level_outside_one_to_five_is_refused(counter, level):
    window = await counter.window()
    _page, visit = await counter.open(window["url"])
    refused = await counter.api.post(RATE, json={"visit": visit, "level": level})
    assert refused.status_code == 422 and refused.json()["code"] == "rating_level_invalid"
    assert await counter.ratings_stored() == []
    # Nothing lost: the same visit still rates.
    assert (await counter.api.post(RATE, json={"visit": visit, "level": 4})).status_code == 201


async def test_forged_altered_or_reissued_codes_record_nothing(counter):
    window = await counter.window()
    token = window["url"].removeprefix(f"{PUBLIC}/rate/c/")
    value, _, mac = token.rpartition(".")
    window_id, staff, version = value.split(".")
    forged = [
        f"{window_id}.{staff}.{version}.{'A' * len(mac)}",  # a made-up signature
        f"{int(window_id) + 1}.{staff}.{version}.{mac}",  # another window with this one's signature
        f"{window_id}.0.{version}.{mac}",  # the staff member taken out
        str(window_id),  # the id alone
        f"{window_id}.{staff}.{version}.签名",  # not even our alphabet
    ]
    for bad in forged:
        page = await counter.api.get(f"/rate/c/{bad}")
        assert page.status_code == 403 and page.headers["x-rating-code"] == "counter_token_invalid", bad
        assert 'data-code="counter_token_invalid"' in page.text and "二维码" in page.text and "张伟" not in page.text

    _page, visit = await counter.open(window["url"])
    reissued = await counter.api.patch(f"{BASE}/{window['id']}", json={"reissue": True}, headers=counter.supervisor)
    assert reissued.json()["token_version"] == 2 and reissued.json()["url"] != window["url"]
    old = await counter.api.get(f"/rate/c/{token}")
    assert old.status_code == 403
    refused = await counter.api.post(RATE, json={"visit": visit, "level": 5})  # opened with the old printing
    assert refused.status_code == 403 and refused.json()["code"] == "counter_token_invalid"
    assert (await counter.api.get(reissued.json()["url"].removeprefix(PUBLIC))).status_code == 200

    # A visit token is not a window token, nor the reverse; an edited visit fails its signature.
    assert (await counter.api.get(f"/rate/c/{visit}")).status_code == 403
    _page, fresh = await counter.open(reissued.json()["url"])
    edited = fresh.replace(".", ".9", 1)
    assert (await counter.api.post(RATE, json={"visit": edited, "level": 5})).status_code == 403
    assert (await counter.api.post(RATE, json={"visit": reissued.json()["url"].rsplit("/", 1)[1],
                                               "level": 5})).status_code == 403
    assert await counter.ratings_stored() == []


async def test_a_new_staff_member_or_a_closed_window_voids_the_code(counter):
    window = await counter.window()
    other_id, _ = await staff_login(counter.ratings, "li.na", Role.AGENT)
    changed = await counter.api.patch(f"{BASE}/{window['id']}", json={"agent_id": other_id}, headers=counter.supervisor)
    assert changed.status_code == 200 and changed.json()["token_version"] == 2
    assert (await counter.api.get(window["url"].removeprefix(PUBLIC))).status_code == 403
    closed = await counter.api.patch(f"{BASE}/{window['id']}", json={"active": False}, headers=counter.supervisor)
    assert closed.json()["active"] is False
    assert (await counter.api.get(changed.json()["url"].removeprefix(PUBLIC))).status_code == 403
    missing = await counter.api.patch(f"{BASE}/99999", json={"active": False}, headers=counter.supervisor)
    assert missing.status_code == 404 and missing.json()["code"] == "counter_not_found"


async def test_a_visit_expires(counter):
    window = await counter.window()
    _page, visit = await counter.open(window["url"])
    counter.clock.advance(minutes=counter.ratings.settings.rating_counter_visit_minutes + 1)
    late = await counter.api.post(RATE, json={"visit": visit, "level": 5})
    assert late.status_code == 410 and late.json()["code"] == "counter_visit_expired"
    assert await counter.ratings_stored() == []


async def test_a_flood_from_one_address_is_refused(counter):
    window = await counter.window()
    _page, visit = await counter.open(window["url"])
    answers = [await counter.api.post(RATE, json={"visit": visit, "level": 5}) for _ in range(13)]
    assert [a.status_code for a in answers[:2]] == [201, 409]
    assert answers[-1].status_code == 429 and answers[-1].json()["code"] == "rate_limited"
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert len(await counter.ratings_stored()) == 1
    pages = [await counter.api.get(window["url"].removeprefix(PUBLIC)) for _ in range(13)]
    assert pages[-1].status_code == 429


async def test_unknown_fields_and_a_missing_visit_are_clear_errors(counter):
    bad = await counter.api.post(RATE, json={"level": 5})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    extra = await counter.api.post(RATE, json={"visit": "1.0.1.x.1.abc", "level": 5, "agent_id": 3})
    assert extra.status_code == 422
    html = await counter.api.post(RATE, json={"visit": "<b>", "level": 5})
    assert html.status_code == 422


def test_visit_tokens_carry_a_nonce_each():
    settings = Settings(public_base_url=PUBLIC)
    window = CounterWindow(id=1, code="hanshan-1", office="hanshan", window="1", department="x", agent_id=None,
                           active=True, token_version=1)
    now = local(2026, 12, 7, 10, 0)
    tokens = {counters.visit_token(settings, window, now) for _ in range(20)}
    assert len(tokens) == 20
    assert counters.rating_url(settings, window) == counters.rating_url(settings, window)
    assert timedelta(minutes=settings.rating_counter_visit_minutes) > timedelta(0)
