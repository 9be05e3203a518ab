"""A small fixed set of ratings and cases whose figures the analysis tests know by heart, and the ratings
context on the test's database (shared by the analysis, report and public page tests)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from core.bus import LocalBus
from core.db import make_engine, make_sessionmaker
from core.settings import Settings
from ratings.context import Ratings
from ratings.models import Rating, RectificationCase
from ratings.routes import analysis as analysis_routes
from ratings.routes import wall as wall_routes
from staff.models import Agent, Role
from tests.callout.helpers import FrozenClock, local, service_app, staff_login

NOW = local(2026, 12, 7, 10)  # a Monday; every rating below is in November 2026 but the last
SECRET_COMMENT = "<b>张小明 13912345678</b>服务太差"
CITIZEN = "c-secret-citizen-0001"


@asynccontextmanager
async def on_database(database_url: str, tmp_path: Path, **settings: Any) -> AsyncIterator[Ratings]:
    engine = make_engine(database_url)
    made = Settings(**{"data_dir": tmp_path, "database_url": database_url, **settings})
    try:
        yield Ratings(settings=made, sessions=make_sessionmaker(engine), bus=LocalBus(), clock=FrozenClock(NOW))
    finally:
        await engine.dispose()


def analysis_app(ratings: Ratings, *routers: Any) -> FastAPI:
    return service_app(ratings.settings, ratings.sessions, (Ratings, ratings),
                       routers=routers or (analysis_routes.router, wall_routes.router))


async def seed(ratings: Ratings) -> dict[str, int]:
    """Agents 王丽 (提取科) and 李强 (贷款科), seven ratings and three cases:

    | # | level | channel | business     | department | agent | local time      | note             |
    | 1 | 5     | web     | withdraw-rent| 提取科     | 王丽  | 11-02 10:00     |                  |
    | 2 | 4     | wechat  | withdraw-rent| 提取科     | 王丽  | 11-03 07:00     | 11-02 in UTC     |
    | 3 | 1     | phone   | loan-apply   | 贷款科     | 李强  | 11-10 09:00     | 态度不好,问题未解决 |
    | 4 | 2     | app     | loan-apply   | 贷款科     | bot   | 11-10 15:00     | 答非所问          |
    | 5 | 3     | counter | (none)       | 邯山区管理部 | 李强  | 11-20 11:00     |                  |
    | 6 | 1     | web     | withdraw-rent| 提取科     | 王丽  | 11-25 16:00     | marked (appeal)  |
    | 7 | 5     | web     | withdraw-rent| 提取科     | 王丽  | 10-31 23:59     | October          |
    """
    wang, _ = await staff_login(ratings, "wangli", Role.AGENT)
    li, _ = await staff_login(ratings, "liqiang", Role.AGENT)
    async with ratings.sessions() as session:
        (await session.get_one(Agent, wang)).display_name = "王丽"
        (await session.get_one(Agent, li)).display_name = "李强"
        rows = [
            (5, "web", "withdraw-rent", "提取科", wang, local(2026, 11, 2, 10), [], None, None),
            (4, "wechat", "withdraw-rent", "提取科", wang, local(2026, 11, 3, 7), [], None, None),
            (1, "phone", "loan-apply", "贷款科", li, local(2026, 11, 10, 9), ["态度不好", "问题未解决"],
             SECRET_COMMENT, None),
            (2, "app", "loan-apply", "贷款科", None, local(2026, 11, 10, 15), ["答非所问"], None, None),
            (3, "counter", None, "邯山区管理部", li, local(2026, 11, 20, 11), [], None, None),
            (1, "web", "withdraw-rent", "提取科", wang, local(2026, 11, 25, 16), ["态度不好"], None, "upheld"),
            (5, "web", "withdraw-rent", "提取科", wang, local(2026, 10, 31, 23, 59), [], None, None),
        ]
        made = []
        for n, (level, channel, business, department, agent, at, reasons, comment, mark) in enumerate(rows, 1):
            rating = Rating(event_key=f"seed-{n}", kind="agent" if agent else "bot", channel=channel, level=level,
                            reasons=reasons, comment=comment, business=business, department=department,
                            agent_id=agent, citizen_id=CITIZEN, created_at=at, mark=mark,
                            marked_at=at + timedelta(days=3) if mark else None,
                            counter="hanshan-01" if channel == "counter" else None)
            session.add(rating)
            made.append(rating)
        await session.flush()
        day = timedelta(days=1)
        session.add_all([
            _case(made[2], "贷款科", made[2].created_at, called=made[2].created_at + timedelta(hours=2),
                  replied=made[2].created_at + 6 * day),
            _case(made[3], "贷款科", made[3].created_at, called=made[3].created_at + 2 * day,
                  replied=made[3].created_at + 10 * day),
            _case(made[5], "提取科", made[5].created_at, called=None, replied=None),
        ])
        await session.commit()
    return {"wang": wang, "li": li}


def _case(rating: Rating, department: str, opened: datetime, *, called: datetime | None,
          replied: datetime | None) -> RectificationCase:
    """Call back due in a day, the reply in seven (the tests need fixed dates, not working days)."""
    return RectificationCase(
        rating_id=rating.id, department=department, status="closed" if replied else "open", opened_at=opened,
        callback_due_at=opened + timedelta(days=1), due_at=opened + timedelta(days=7), called_back_at=called,
        replied_at=replied, closed_at=replied, escalation=0 if replied or called else 1)
