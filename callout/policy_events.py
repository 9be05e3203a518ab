"""Policy events answered with draft campaigns (outreach/events.py notices them once).

A rate change → a draft from every segment with `event: rate_change`, telling each borrower whose
provident-fund loan (or combination loan's provident-fund part) is at an old rate their new monthly
payment. An article marked `policy_change: true` → a draft from every segment with
`event: policy_article` whose audience is the employers' administrators or the loan assistants (the
depositors' one reaches far more people: a person prepares it from the segment page when wanted).

Each draft is prepared by the system (audit actor `system`, account `system-policy-events`, which
cannot log in) and waits for a supervisor's approval like any other campaign. The check runs at start
and every few minutes from the campaign queue; the event's unique key makes it once however many
processes look.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from callout import segment_campaigns
from callout.context import Callout
from core.errors import ApiError
from outreach import events
from outreach.centre_data import open_source
from outreach.segments import EventError, Match, Segment, SegmentError, evaluate, load_segments
from policy.loan_params import LoanParams, LoanParamsError, current_params
from staff import audit
from staff.models import Agent, Role

log = logging.getLogger(__name__)

SYSTEM_USERNAME = "system-policy-events"
# The channel of a draft: the first the segment has a text for. SMS reaches everyone with a mobile.
CHANNEL_ORDER = ("sms", "wechat", "push", "card", "voice")
ARTICLE_AUDIENCES = frozenset({"employer_admins", "assistants"})
PART = 50_000  # recipients per draft campaign
LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass
class Checked:
    """What one check did (for logs and tests)."""

    events: list[int] = field(default_factory=list)
    campaigns: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class PolicyEvents:
    """Remembers where the article check stopped, so each tick reads only new versions."""

    def __init__(self, callout: Callout) -> None:
        self.callout = callout
        self._after_version_id = 0
        self._lock = asyncio.Lock()

    async def check(self) -> Checked:
        async with self._lock:  # the start-up check and a tick never overlap in one process
            done = Checked()
            try:
                params = current_params(self.callout.settings.loan_params_path)
            except LoanParamsError as exc:
                log.error("policy events: loan parameters unreadable, rates not checked: %s", exc)
                params = None
            async with self.callout.sessions() as session:
                rate_event = None
                if params is not None:
                    rate_event = await events.notice_rates(session, params.rate_entry(self._today()))
                articles = await events.notice_articles(session, after_version_id=self._after_version_id)
                await session.commit()
                noticed = [event for event in (rate_event, *articles.events) if event is not None]
                answered = [(event.id, event.kind, dict(event.detail or {})) for event in noticed]
            self._after_version_id = articles.last_version_id
            for event_id, kind, detail in answered:
                done.events.append(event_id)
                campaigns, problems = await self._answer(kind, detail, params)
                async with self.callout.sessions() as session:
                    await events.record_campaigns(session, event_id, campaigns=campaigns, problems=problems)
                    await session.commit()
                done.campaigns += campaigns
                done.problems += problems
                log.info("policy event %s (%s): draft campaigns %s%s", event_id, kind, campaigns,
                         f", problems: {problems}" if problems else "")
            return done

    def _today(self) -> date:
        return self.callout.clock.now().astimezone(LOCAL).date()

    async def _answer(self, kind: str, detail: Mapping[str, Any],
                      params: LoanParams | None) -> tuple[list[int], list[str]]:
        settings = self.callout.settings
        if params is None:
            return [], ["贷款参数文件无法读取，未生成活动。"]
        try:
            segments = load_segments(settings.segments_dir, settings.loan_params_path.parent, settings.checklists_dir)
        except SegmentError as exc:
            return [], [f"分群文件有误：{exc}"]
        if kind == events.RATE_CHANGE:
            chosen = [s for s in segments.values() if s.event == "rate_change"]
            occasions: list[dict[str, Any]] = list(detail.get("changes") or [])
            title = "贷款利率调整"
        else:
            chosen = [s for s in segments.values() if s.event == "policy_article" and s.audience in ARTICLE_AUDIENCES]
            occasions = [{"title": detail.get("title", ""), "article_id": detail.get("article_id")}]
            title = f"政策变化：{str(detail.get('title', ''))[:40]}"
        if not chosen:
            return [], ["没有对应这个事件的分群（segments 中的 event），未生成活动。"]
        if not occasions:
            return [], ["利率变化无法对应到贷款（同一原利率调整为不同新利率），未生成活动。"]
        creator = await self._system_account()
        campaigns, problems = [], []
        for segment in chosen:
            channel = next((c for c in CHANNEL_ORDER if segment.messages.get(c)), None)
            if channel is None:
                problems.append(f"{segment.key}: 没有可用渠道的文字")
                continue
            drafts, failed = await self._prepare_in_parts(segment, occasions, params, channel=channel,
                                                          name=f"{title}（{segment.title}）", creator=creator)
            campaigns += drafts
            problems += failed
        return campaigns, problems

    async def _prepare_in_parts(self, segment: Segment, occasions: list[dict[str, Any]], params: LoanParams, *,
                                channel: str, name: str, creator: int) -> tuple[list[int], list[str]]:
        """Drafts of at most PART recipients each: a rate change can reach more people than one campaign
        holds, and a part's matches are all that is held in memory. The centre's data is read in a worker
        thread, a part at a time, so the event loop keeps serving."""
        matches = self._matches(segment, occasions, params)
        drafts: list[int] = []
        problems: list[str] = []
        try:
            while True:
                try:
                    part = await asyncio.to_thread(lambda: list(islice(matches, PART)))
                except (ApiError, EventError) as exc:  # the centre's data unreadable, a bad event
                    problems.append(f"{segment.key}: {getattr(exc, 'message', None) or exc}")
                    break
                if not part:
                    break
                numbered = name if not drafts and len(part) < PART else f"{name}（第{len(drafts) + 1}部分）"
                try:
                    campaign = await segment_campaigns.prepare(
                        self.callout, audit.SYSTEM, segment=segment, matches=part, channel=channel,
                        name=numbered[:100], created_by=creator)
                except ApiError as exc:  # no valid recipient in this part, …
                    problems.append(f"{segment.key}: {exc.message}")
                    continue
                drafts.append(campaign.id)
        finally:
            matches.close()
        return drafts, problems

    def _matches(self, segment: Segment, occasions: list[dict[str, Any]],
                 params: LoanParams) -> Generator[Match, None, None]:
        """Everyone the segment reaches for any of the occasions (each moved rate, or the article). A person
        counted for two moved rates is kept once (a campaign would refuse the second as a duplicate)."""
        settings = self.callout.settings
        source = open_source(settings)
        rates = params.rate_entry(self._today())
        seen: set[str] = set()
        try:
            for occasion in occasions:
                for match in evaluate(segment, source, params=params, rates=rates,
                                      secret=settings.session_secret.get_secret_value(), event=occasion,
                                      today=self._today()):
                    key = match.depositor_ref or match.mobile or ""
                    if key in seen:
                        continue
                    seen.add(key)
                    yield match
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    async def _system_account(self) -> int:
        """The account system-prepared campaigns are created by: inactive, no usable password, so it never
        logs in, and any supervisor can approve its drafts (nobody approves their own)."""
        async with self.callout.sessions() as session:
            found = await session.scalar(select(Agent.id).where(Agent.username == SYSTEM_USERNAME))
            if found is not None:
                return found
            session.add(Agent(username=SYSTEM_USERNAME, display_name="系统（政策事件）", password_hash="!",
                              role=Role.CAMPAIGNER, capacity=0, active=False))
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
            created = await session.scalar(select(Agent.id).where(Agent.username == SYSTEM_USERNAME))
            assert created is not None
            return created
