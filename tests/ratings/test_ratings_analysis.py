"""数据分析 on fixed data: satisfaction by each dimension and period, a changed scoring, marked ratings
counted apart, reasons, rectification on time and call-backs, the wall view, and who may read them."""
from __future__ import annotations

import asyncio
import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from core.db import migrate
from ratings import analysis
from ratings.events import TOPIC, RatingNew
from ratings.models import Rating
from ratings.routes import public
from ratings.routes import wall as wall_routes
from staff.models import AuditEntry, Role
from tests.callout.helpers import client, local, login
from tests.ratings.ratings_analysis_seed import CITIZEN, NOW, analysis_app, on_database, seed

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


def by_label(body: dict) -> dict[str, dict]:
    return {row["label"]: row for row in body["rows"]}


async def test_summary_by_each_dimension(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        await seed(ratings)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            async def get(**params: str) -> dict:
                answer = await api.get("/api/v1/console/ratings/summary", params={**NOVEMBER, **params},
                                       headers=boss)
                assert answer.status_code == 200, answer.text
                return answer.json()

            body = await get(by="channel")
            assert body["from"] == "2026-11-01" and body["to"] == "2026-11-30"
            assert body["scores"] == {"5": 10, "4": 8, "3": 6, "2": 3, "1": 0}
            total = body["total"]
            assert (total["count"], total["marked"]) == (5, 1)
            assert total["levels"] == {"5": 1, "4": 1, "3": 1, "2": 1, "1": 1}
            assert (total["score"], total["satisfaction"], total["good"], total["bad"]) == (5.4, 0.54, 0.4, 0.4)
            channels = {row["key"]: (row["count"], row["marked"], row["satisfaction"]) for row in body["rows"]}
            assert channels == {"web": (1, 1, 1.0), "wechat": (1, 0, 0.8), "phone": (1, 0, 0.0),
                                "app": (1, 0, 0.3), "counter": (1, 0, 0.6)}
            assert by_label(body)["微信"]["key"] == "wechat"

            agents = by_label(await get(by="agent"))
            assert {k: (v["count"], v["marked"], v["satisfaction"]) for k, v in agents.items()} == {
                "王丽": (2, 1, 0.9), "李强": (2, 0, 0.3), "智能客服": (1, 0, 0.3)}
            assert agents["智能客服"]["key"] is None

            departments = by_label(await get(by="department"))
            assert {k: (v["count"], v["satisfaction"]) for k, v in departments.items()} == {
                "提取科": (2, 0.9), "贷款科": (2, 0.15), "邯山区管理部": (1, 0.6)}

            business = by_label(await get(by="business"))
            assert {k: (v["key"], v["count"], v["satisfaction"]) for k, v in business.items()} == {
                "租房提取申请": ("withdraw-rent", 2, 0.9), "公积金贷款申请": ("loan-apply", 2, 0.15),
                "（未标明）": (None, 1, 0.6)}

            filtered = await get(by="channel", department="提取科")
            assert {row["key"] for row in filtered["rows"]} == {"web", "wechat"}
            assert filtered["total"]["count"] == 2


async def test_summary_by_period_in_the_centres_time(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        await seed(ratings)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            async def periods(period: str, **params: str) -> list[tuple[str, int, int]]:
                answer = await api.get("/api/v1/console/ratings/summary", headers=boss,
                                       params={**NOVEMBER, "by": "period", "period": period, **params})
                assert answer.status_code == 200, answer.text
                return [(row["key"], row["count"], row["marked"]) for row in answer.json()["rows"]]

            # 11-03 07:00 in Shanghai is 11-02 in UTC: it is counted on the 3rd.
            assert await periods("day") == [("2026-11-02", 1, 0), ("2026-11-03", 1, 0), ("2026-11-10", 2, 0),
                                            ("2026-11-20", 1, 0), ("2026-11-25", 0, 1)]
            assert await periods("week") == [("2026-11-02", 2, 0), ("2026-11-09", 2, 0), ("2026-11-16", 1, 0),
                                             ("2026-11-23", 0, 1)]
            assert await periods("month", **{"from": "2026-10-01"}) == [("2026-10", 1, 0), ("2026-11", 5, 1)]


async def test_a_changed_scoring_applies_at_once(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path, rating_scores="10,9,7,4,1") as ratings:
        await seed(ratings)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            body = (await api.get("/api/v1/console/ratings/summary", params={**NOVEMBER, "by": "agent"},
                                  headers=boss)).json()
    assert (body["total"]["score"], body["total"]["satisfaction"]) == (6.2, 0.62)
    assert by_label(body)["李强"]["satisfaction"] == 0.4  # (1 + 7) / 2 / 10


async def test_reasons_and_rectification(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        await seed(ratings)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            reasons = (await api.get("/api/v1/console/ratings/reasons", params=NOVEMBER, headers=boss)).json()
            cases = (await api.get("/api/v1/console/ratings/rectification", params=NOVEMBER, headers=boss)).json()
    # The marked rating's 态度不好 is not counted: two bad ratings, one reason each but one with two.
    assert {r["reason"]: (r["count"], r["share"]) for r in reasons["reasons"] if r["count"]} == {
        "答非所问": (1, 0.5), "态度不好": (1, 0.5), "问题未解决": (1, 0.5)}
    assert [r["reason"] for r in reasons["reasons"]][0] == "等待时间长"
    assert {k: cases[k] for k in ("opened", "closed", "closed_on_time", "overdue_open", "called_back",
                                  "called_back_in_time", "escalated", "on_time", "called_back_share",
                                  "called_back_in_time_share")} == {
        "opened": 3, "closed": 2, "closed_on_time": 1, "overdue_open": 1, "called_back": 2,
        "called_back_in_time": 1, "escalated": 1, "on_time": 0.5, "called_back_share": 0.6667,
        "called_back_in_time_share": 0.3333}
    assert {d["department"]: (d["opened"], d["closed_on_time"]) for d in cases["departments"]} == {
        "贷款科": (2, 1), "提取科": (1, 0)}


async def test_wall_view(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        await seed(ratings)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            answer = await api.get("/api/v1/console/ratings/wall", headers=boss)
    assert answer.status_code == 200, answer.text
    wall = answer.json()
    assert wall["queue"]["pool_length"] == 0 and wall["queue"]["agents_on_duty"] == 0
    assert [r["level_label"] for r in wall["recent"]][:2] == ["非常不满意", "基本满意"]
    assert wall["overdue_total"] == 1 and wall["overdue"][0]["department"] == "提取科"
    assert "13912345678" not in answer.text and "张小明" not in answer.text and "王丽" not in answer.text


async def test_ratings_arrive_on_the_wall_as_a_stream(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(wall_routes, "STREAM_S", 1.0)
    async with on_database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path) as ratings:
        migrate(ratings.settings.database_url)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            async def publish() -> None:
                await asyncio.sleep(0.3)
                await ratings.bus.publish(TOPIC, RatingNew(rating_id=7, level=1, channel="wechat", kind="agent",
                                                           business="loan-apply", department="贷款科", agent_id=3,
                                                           bad=True))

            answer, _ = await asyncio.gather(api.get("/api/v1/console/ratings/live", headers=boss), publish())
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in answer.text.split("\n\n") if f.startswith("event: rating")]
    assert len(frames) == 1
    data = json.loads(frames[0].split("data: ", 1)[1])
    assert data["level_label"] == "非常不满意" and data["channel_label"] == "微信"
    assert data["business"] == "公积金贷款申请" and data["department"] == "贷款科" and data["bot"] is False
    assert "agent_id" not in data


@pytest.mark.parametrize("path", ["summary", "reasons", "rectification", "wall", "live"])
async def test_only_supervisors_read_the_analysis(database_url: str, tmp_path, path: str) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        agent = await login(ratings, "agent", Role.AGENT)
        async with client(analysis_app(ratings)) as api:
            refused = await api.get(f"/api/v1/console/ratings/{path}", headers=agent)
            anonymous = await api.get(f"/api/v1/console/ratings/{path}")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert anonymous.status_code == 401


async def test_bad_ranges_are_refused(tmp_path) -> None:
    async with on_database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path) as ratings:
        migrate(ratings.settings.database_url)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            async def code(**params: str) -> tuple[int, str]:
                answer = await api.get("/api/v1/console/ratings/summary", params=params, headers=boss)
                return answer.status_code, answer.json()["code"]

            assert await code(**{"from": "2026-11-30", "to": "2026-11-01"}) == (422, "dates_invalid")
            assert await code(**{"from": "2024-01-01", "to": "2026-11-01"}) == (422, "dates_invalid")
            assert await code(**{"from": "11/01/2026"}) == (422, "invalid_request")
            assert await code(by="citizen") == (422, "invalid_request")
            assert await code(period="year", by="period") == (422, "invalid_request")
            assert (await api.get("/api/v1/console/ratings/summary", headers=boss)).status_code == 200


async def test_monthly_report_files(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        await seed(ratings)
        boss = await login(ratings, "boss", Role.SUPERVISOR)
        async with client(analysis_app(ratings)) as api:
            book = await api.get("/api/v1/console/ratings/report", params={"month": "2026-11", "format": "xlsx"},
                                 headers=boss)
            paper = await api.get("/api/v1/console/ratings/report", params={"month": "2026-11", "format": "pdf"},
                                  headers=boss)
            bad_month = await api.get("/api/v1/console/ratings/report", params={"month": "2026-13"}, headers=boss)
            agent = await login(ratings, "agent", Role.AGENT)
            refused = await api.get("/api/v1/console/ratings/report", params={"month": "2026-11"}, headers=agent)
        async with ratings.sessions() as session:
            exports = (await session.execute(select(AuditEntry.action, AuditEntry.detail)
                                             .where(AuditEntry.action == "ratings_report_export"))).all()
    assert book.status_code == 200, book.text
    assert 'filename="ratings-report-2026-11.xlsx"' in book.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(book.content))
    assert workbook.sheetnames == ["概览", "按业务", "按渠道", "按部门", "按坐席", "差评原因", "整改"]
    overview = workbook["概览"]
    assert overview["A1"].value == "2026-11 好差评月度报告"
    assert [c.value for c in overview[6]][:6] == ["全月合计", 5, 0.54, 0.4, 0.4, 5.4]
    assert len(overview._charts) == 2 and all(len(workbook[s]._charts) == 1 for s in ("按业务", "按坐席", "差评原因"))
    agents = {row[0]: row[1:3] for row in workbook["按坐席"].iter_rows(min_row=2, values_only=True)}
    assert agents == {"王丽": (2, 0.9), "李强": (2, 0.3), "智能客服": (1, 0.3)}
    cases = list(workbook["整改"].iter_rows(min_row=2, values_only=True))
    assert cases[-1][:6] == ("合计", 3, 2, 1, 0.5, 1)

    assert paper.status_code == 200 and paper.headers["content-type"] == "application/pdf"
    assert paper.content.startswith(b"%PDF")
    assert b"(ratings-report 2026-11)" in paper.content  # the document's keywords, plain in its metadata
    assert len(paper.content) > 20_000  # the CJK font's glyphs are embedded, else the Chinese would not show

    assert (bad_month.status_code, bad_month.json()["code"]) == (422, "month_invalid")
    assert refused.status_code == 403
    assert [(a, d["month"], d["format"]) for a, d in exports] == [
        ("ratings_report_export", "2026-11", "xlsx"), ("ratings_report_export", "2026-11", "pdf")]


async def test_the_public_figures_carry_nothing_personal(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        await seed(ratings)
        public._cache.clear()
        async with client(analysis_app(ratings, public.router)) as api:
            answer = await api.get("/api/v1/ratings/public")  # last month before 12-07: November; no login
            wrong = await api.get("/api/v1/ratings/public", params={"month": "2026/11"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["month"] == "2026-11"
    assert [(m["month"], m["count"], m["satisfaction"]) for m in body["months"]] == [
        ("2026-10", 1, 1.0), ("2026-11", 5, 0.54)]
    assert (body["total"]["count"], body["total"]["satisfaction"], body["total"]["good"]) == (5, 0.54, 0.4)
    assert {d["label"]: d["satisfaction"] for d in body["department"]} == {
        "提取科": 0.9, "贷款科": 0.15, "邯山区管理部": 0.6}
    assert body["rectification"] == {"opened": 3, "closed": 2, "on_time": 0.5, "called_back_share": 0.6667}
    assert "agent" not in body
    for personal in ("王丽", "李强", "wangli", "张小明", "13912345678", CITIZEN, "hanshan-01", "seed-"):
        assert personal not in answer.text, personal
    assert (wrong.status_code, wrong.json()["code"]) == (422, "month_invalid")


async def test_ended_months_are_kept_until_a_late_rating_or_a_mark_changes_them(database_url: str, tmp_path) -> None:
    async with on_database(database_url, tmp_path) as ratings:
        await seed(ratings)
        window = analysis.Window.days(date(2026, 10, 1), date(2026, 11, 30))
        analysis._KEPT.clear()

        async def months() -> list[tuple[str | None, int, int]]:
            async with ratings.sessions() as session:
                rows = await analysis.figures(session, ratings.settings, window, by="period", period="month",
                                              now=NOW)
            return [(row.key, row.count, row.marked) for row in rows]

        assert await months() == [("2026-10", 1, 0), ("2026-11", 5, 1)]
        assert len(analysis._KEPT) == 2  # both months have ended by 12-07
        assert await months() == [("2026-10", 1, 0), ("2026-11", 5, 1)]
        async with ratings.sessions() as session:
            session.add(Rating(event_key="late-1", kind="counter", channel="counter", level=4, reasons=[],
                               created_at=local(2026, 10, 15, 10)))
            upheld = await session.scalar(select(Rating).where(Rating.event_key == "seed-3"))
            upheld.mark, upheld.marked_at = "upheld", NOW
            await session.commit()
        assert await months() == [("2026-10", 2, 0), ("2026-11", 4, 2)]


def test_a_window_is_cut_into_ended_months_ended_days_and_today() -> None:
    thirty = analysis._pieces(analysis.Window.days(date(2026, 11, 8), date(2026, 12, 7)), NOW)
    assert len(thirty) == 30 and [whole for _part, whole in thirty] == [True] * 29 + [False]
    assert thirty[0][0] == analysis.Window.days(date(2026, 11, 8), date(2026, 11, 8))
    year = analysis._pieces(analysis.Window.days(date(2025, 12, 1), date(2026, 12, 7)), NOW)
    assert [part.since.astimezone(analysis.LOCAL).date() for part, whole in year if whole][:2] == [
        date(2025, 12, 1), date(2026, 1, 1)]
    assert len(year) == 12 + 7 and sum(whole for _part, whole in year) == 12 + 6
    # Ten minutes after midnight the day before is kept; a minute after, not yet.
    assert analysis._pieces(analysis.Window.days(date(2026, 12, 6), date(2026, 12, 6)),
                            local(2026, 12, 7, 0, 11))[0][1] is True
    assert analysis._pieces(analysis.Window.days(date(2026, 12, 6), date(2026, 12, 6)),
                            local(2026, 12, 7, 0, 1))[0][1] is False
