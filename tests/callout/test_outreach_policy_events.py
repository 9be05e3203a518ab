"""Policy events with known answers: a rate cut from the current rate becomes one event and one draft
campaign whose every borrower's new monthly payment is policy.calculator's; an article marked as a policy
change becomes one event and drafts to employers' administrators and loan assistants. The same change
noticed twice, or by a second process, makes one event."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from callout import policy_events
from callout.context import Callout
from callout.models import Campaign, CampaignStatus, Recipient
from callout.policy_events import SYSTEM_USERNAME, PolicyEvents
from core.db import make_engine, make_sessionmaker
from core.settings import ROOT, Settings
from knowledge.models import ArticleVersion
from outreach.centre_data import FileSource
from outreach.models import OutreachLink, PolicyEvent
from outreach.records import LoanKind
from outreach.synthetic import generate
from policy import calculator
from policy.loan_params import load_params
from staff.models import Agent
from tests.callout.helpers import FrozenClock, local

TODAY = date(2026, 12, 7)


@pytest.fixture
async def setup(database_url, tmp_path: Path):
    params = tmp_path / "params"
    shutil.copytree(ROOT / "policy" / "params", params)
    generate(depositors=400, seed=3, months=2, as_of=TODAY, out=tmp_path / "centre")
    settings = Settings(data_dir=tmp_path, database_url=database_url, centre_data_dir=tmp_path / "centre",
                        loan_params_path=params / "loan.yml", console_holidays="2026-12-25")
    engine = make_engine(database_url)
    callout = Callout(settings=settings, sessions=make_sessionmaker(engine), clock=FrozenClock(local(2026, 12, 7, 10)))
    yield callout, tmp_path
    await engine.dispose()


CUT = 0.25


def cut_rates(loan_yml: Path) -> dict[float, float]:
    """A new entry, effective a week ago, 0.25 points below the current one in every column."""
    current = load_params(loan_yml).rate_entry(TODAY)
    new = {home: {column: round(getattr(getattr(current, home), column) - CUT, 3) for column in ("upto_5y", "over_5y")}
           for home in ("first_home", "second_home")}
    entry = (f"  - effective: 2026-11-30\n    source: 测试用的降息\n"
             f"    first_home: {{upto_5y: {new['first_home']['upto_5y']}, over_5y: {new['first_home']['over_5y']}}}\n"
             f"    second_home: {{upto_5y: {new['second_home']['upto_5y']}, over_5y: {new['second_home']['over_5y']}}}\n")
    text = loan_yml.read_text(encoding="utf-8").replace("rates:\n", "rates:\n" + entry, 1)
    loan_yml.write_text(text, encoding="utf-8")
    return {getattr(getattr(current, h), c): new[h][c] for h in ("first_home", "second_home")
            for c in ("upto_5y", "over_5y")}


def expected_payments(centre: Path, moved: dict[float, float]) -> dict[str, str]:
    """Phone → the new monthly payment text, computed here with policy.calculator from the centre's data.
    A borrower with several affected loans is told about the first at the lowest old rate."""
    expected: dict[str, str] = {}
    for person in FileSource(centre).people():
        d = person.depositor
        if d.status == "closed" or not d.mobile:
            continue
        for old in sorted(moved):
            loan = next((x for x in person.loans if x.kind in (LoanKind.HPF, LoanKind.COMBINATION)
                         and abs(x.annual_rate - old) < 1e-9), None)
            if loan is None:
                continue
            result = calculator.repayment(loan.balance, loan.remaining_months, moved[old], loan.method)  # type: ignore[arg-type]
            expected[d.mobile] = f"{calculator.money(result.first_payment):,.2f}"
            break
    return expected


async def count(callout: Callout, model, *where) -> int:
    async with callout.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def test_a_rate_cut_drafts_one_campaign_with_each_borrowers_new_payment(setup) -> None:
    callout, tmp = setup
    events = PolicyEvents(callout)
    first = await events.check()
    assert first.events == [] and first.campaigns == []  # the first sight is a baseline
    assert await count(callout, PolicyEvent, PolicyEvent.kind == "rate_seen") == 1

    moved = cut_rates(tmp / "params" / "loan.yml")
    done = await events.check()
    assert len(done.events) == 1 and len(done.campaigns) == 1, done.problems
    expected = expected_payments(tmp / "centre", moved)
    assert len(expected) > 10  # the synthetic borrowers include many at the old rates

    async with callout.sessions() as session:
        campaign = await session.get(Campaign, done.campaigns[0])
        assert campaign is not None
        assert campaign.status == CampaignStatus.DRAFT and campaign.segment == "rate-change"
        assert campaign.channel == "sms"
        system = await session.scalar(select(Agent).where(Agent.username == SYSTEM_USERNAME))
        assert system is not None and campaign.created_by == system.id and not system.active
        recipients = (await session.scalars(select(Recipient).where(Recipient.campaign_id == campaign.id))).all()
        assert {r.phone: r.variables["new_payment"] for r in recipients} == expected
        assert all(r.link_id and r.variables["link"].startswith("http") for r in recipients)
        assert await session.scalar(select(func.count()).select_from(OutreachLink)
                                    .where(OutreachLink.campaign_id == campaign.id)) == len(expected)
        event = await session.get(PolicyEvent, done.events[0])
        assert event is not None and event.kind == "rate_change" and event.campaign_id == campaign.id
        assert {(c["old_rate"], c["new_rate"]) for c in event.detail["changes"]} == set(moved.items())

    # Noticed again, here or by another process: still one event and one campaign.
    assert (await events.check()).events == []
    assert (await PolicyEvents(callout).check()).events == []
    assert await count(callout, PolicyEvent, PolicyEvent.kind == "rate_change") == 1
    assert await count(callout, Campaign) == 1


async def test_a_change_reaching_many_is_drafted_in_parts(setup, monkeypatch) -> None:
    callout, tmp = setup
    monkeypatch.setattr(policy_events, "PART", 20)
    events = PolicyEvents(callout)
    await events.check()
    expected = expected_payments(tmp / "centre", cut_rates(tmp / "params" / "loan.yml"))
    done = await events.check()
    assert len(done.campaigns) == -(-len(expected) // 20) > 1, done.problems
    async with callout.sessions() as session:
        campaigns = (await session.scalars(select(Campaign).order_by(Campaign.id))).all()
        assert [c.name[-5:] for c in campaigns[:2]] == ["第1部分）", "第2部分）"]
        recipients = (await session.scalars(select(Recipient))).all()
        assert {r.phone: r.variables["new_payment"] for r in recipients} == expected
        assert len(recipients) == len(expected)  # each borrower in one part only


ARTICLE = """---
id: policy-2027-deposit
title: 关于调整住房公积金缴存基数的通知
category: deposit
keywords: [缴存基数]
effective_date: {effective}
source: 测试
summary: 缴存基数调整。
policy_change: {marked}
---
## 办理条件
正文。
"""


async def add_version(callout: Callout, version: int, *, effective: str = "2027-01-01", marked: bool = True,
                      article_id: str = "policy-2027-deposit") -> None:
    async with callout.sessions() as session:
        content = ARTICLE.format(effective=effective, marked="true" if marked else "false")
        session.add(ArticleVersion(article_id=article_id, version=version, action="create" if version == 1 else "edit",
                                   author="测试", content=content, content_hash=f"h{version}{effective}{marked}"))
        await session.commit()


async def test_a_policy_article_drafts_campaigns_to_administrators_and_assistants(setup) -> None:
    callout, tmp = setup
    events = PolicyEvents(callout)
    await events.check()
    await add_version(callout, 1, marked=False, article_id="not-a-policy")
    await add_version(callout, 1)
    done = await events.check()
    assert len(done.events) == 1 and len(done.campaigns) == 2, done.problems

    source = FileSource(tmp / "centre")
    admins = {e.admin_mobile for e in source.employers() if e.status == "normal" and e.admin_mobile}
    assistants = {a.mobile for a in source.assistants() if a.mobile}
    async with callout.sessions() as session:
        campaigns = (await session.scalars(select(Campaign).order_by(Campaign.id))).all()
        assert {c.segment for c in campaigns} == {"policy-article-employer-admins", "policy-article-assistants"}
        assert all(c.status == CampaignStatus.DRAFT and "关于调整住房公积金缴存基数的通知" in c.name for c in campaigns)
        by_segment = {}
        for campaign in campaigns:
            phones = (await session.scalars(select(Recipient.phone).where(Recipient.campaign_id == campaign.id))).all()
            by_segment[campaign.segment] = set(phones)
        assert by_segment["policy-article-employer-admins"] == admins
        assert by_segment["policy-article-assistants"] == assistants
        recipient = await session.scalar(select(Recipient).limit(1))
        assert recipient is not None and recipient.variables["article_title"] == "关于调整住房公积金缴存基数的通知"

    # A correction keeping the effective date is not a new policy; a new date is.
    await add_version(callout, 2)
    assert (await events.check()).events == []
    assert (await PolicyEvents(callout).check()).events == []
    await add_version(callout, 3, effective="2027-03-01")
    assert len((await events.check()).events) == 1
    assert await count(callout, PolicyEvent, PolicyEvent.kind == "policy_article") == 2
