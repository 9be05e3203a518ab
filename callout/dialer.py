"""The dialer: who is called next, when, and what an attempt's end means for the person.

Everything that must happen once is decided by the database, in any number of service and worker
processes:
- one dispatcher per campaign at a time (a lease on the campaign row that runs out if its holder dies);
- the pace: a call may start once the campaign's `next_dial_at` has passed, and starting one moves it
  on by 1/calls-per-second in the same conditional UPDATE (which also serialises the campaign's claims);
- the cap on calls at once: counted inside that transaction;
- the claim: `UPDATE recipients SET state='calling' … WHERE state=<seen> AND tries=<seen>` and an
  attempt row unique per (recipient, try): a person is never called twice at once, never more often
  than the campaign allows;
- an attempt's end is settled once (`… WHERE outcome IS NULL`);
- the weekly cap across campaigns (OUTREACH_CAP_PER_WEEK): a person's first attempt in a campaign
  writes a `Contact` in the claim's transaction, after counting their contacts of the last 7 days under
  a lock on the number (PostgreSQL: an advisory transaction lock; SQLite: the claim already holds the
  database's write lock), so two campaigns in two processes never both pass the cap.
Campaigns on a message channel (sms, wechat, push, card) go through the same claims, pace and leases;
the claimed attempt sends the message instead of placing a call (`callout.delivery`).
A dispatcher that dies mid-run loses nothing: its claims are visible rows, settled by the provider's
callbacks or, if those never come, after CALLOUT_ATTEMPT_LEASE_S; the next dispatcher carries on.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from callout import campaigns, messages, suppressions
from callout.context import Callout
from callout.delivery import Delivery, Sent
from callout.models import (
    MESSAGE_CHANNELS,
    Attempt,
    Campaign,
    CampaignStatus,
    Contact,
    Fallback,
    MachineAction,
    Outcome,
    Recipient,
    RecipientState,
    Suppression,
)
from callout.provider import Fault, ProviderError
from callout.schedule import plan_of
from core.db import rowcount
from core.logmask import mask_personal
from outreach import funnel
from staff import audit

log = logging.getLogger(__name__)

S, R = CampaignStatus, RecipientState
WAITING = (R.PENDING, R.RETRY)
# A person who answered, opted out or was put through to an agent is done; a message left on their
# machine too (when the campaign leaves one). Other outcomes are tried again while attempts remain.
FINAL = frozenset({Outcome.ANSWERED, Outcome.OPTED_OUT, Outcome.TRANSFERRED, Outcome.CANCELLED})
# Never reached in person: the SMS fall-back follows the last of these.
UNREACHED = frozenset({Outcome.BUSY, Outcome.NO_ANSWER, Outcome.FAILED, Outcome.MACHINE})
CALL_STATUS_OUTCOME = {"completed": Outcome.ANSWERED, "busy": Outcome.BUSY, "no-answer": Outcome.NO_ANSWER,
                       "failed": Outcome.FAILED, "canceled": Outcome.CANCELLED}
FINAL_CALL_STATUSES = frozenset(CALL_STATUS_OUTCOME)
DISPATCH_BUDGET_S = 5.0  # one dispatcher run places calls for this long, then hands over to the next
# Past its budget a run may still be inside one provider request (10 s timeout): its lease covers that.
LEASE_GRACE_S = 20.0
FULL_RECHECK_S = 5.0  # at the cap: look again this soon (an ending call also wakes the dispatcher)
PASSING_RETRY_S = 30.0  # the provider was briefly unavailable: the same person again after this
RATE_LIMIT_PAUSE_S = 5.0
CAP_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Claim:
    attempt_id: int
    recipient_id: int
    campaign_id: int
    phone: str


@dataclass(frozen=True)
class Busy:
    """No claim now: `until` is when to look again (None: not at all)."""

    reason: str
    until: datetime | None = None


class Dialer:
    def __init__(self, callout: Callout) -> None:
        self._callout = callout
        self._sessions = callout.sessions
        self._clock = callout.clock
        self._placing: set[asyncio.Task[None]] = set()

    # -- dispatching ----------------------------------------------------------------------------------

    async def dispatch(self, campaign_id: int, budget_s: float = DISPATCH_BUDGET_S) -> datetime | None:
        """Place the campaign's due calls for up to `budget_s`, at its pace, inside its windows. Returns
        when the dispatcher should run again (None: finished, stopped, or another dispatcher has it)."""
        started = self._clock.now()
        lease = started + timedelta(seconds=budget_s + LEASE_GRACE_S)
        if not await self._take_lease(campaign_id, started, lease):
            return None
        try:
            return await self._run(campaign_id, started, budget_s)
        finally:
            await self._release_lease(campaign_id, lease)

    async def _run(self, campaign_id: int, started: datetime, budget_s: float) -> datetime | None:
        try:
            return await self._dial(campaign_id, started, budget_s)
        finally:
            if self._placing:  # every call of this run is placed (or refused) before its lease is given up
                await asyncio.gather(*self._placing, return_exceptions=True)

    async def _dial(self, campaign_id: int, started: datetime, budget_s: float) -> datetime | None:
        campaign = await campaigns.get(self._callout, campaign_id)
        plan = plan_of(campaign, self._callout.settings)
        await self._settle_stale(campaign_id)
        while True:
            now = self._clock.now()
            if plan.finished(now):
                await self._expire(campaign_id)
                return await self._finish_if_done(campaign_id, now + timedelta(seconds=FULL_RECHECK_S))
            if not plan.is_open(now):
                opens = plan.next_open(now)
                log.info("campaign %s: outside its calling windows until %s", campaign_id, opens)
                return opens if opens is not None else now + timedelta(minutes=1)
            outcome = await self._claim(campaign, now)
            if isinstance(outcome, Claim):
                # Placed beside the next claims: the provider's answer time must not slow the pace.
                placing = asyncio.create_task(self._place(campaign, outcome))
                self._placing.add(placing)
                placing.add_done_callback(self._placing.discard)
                continue
            if outcome.reason == "contended":
                continue
            if outcome.reason == "idle":
                return await self._finish_if_done(campaign_id, outcome.until)
            if outcome.until is None:  # stopped
                return None
            left = budget_s - (now - started).total_seconds()
            wait = (outcome.until - now).total_seconds()
            if outcome.reason == "paced" and wait <= left:
                await self._clock.sleep(max(wait, 0.0))
                continue
            return outcome.until

    async def _take_lease(self, campaign_id: int, now: datetime, until: datetime) -> bool:
        async with self._sessions() as session:
            result = await session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id, Campaign.status == S.RUNNING,
                       or_(Campaign.dispatcher_until.is_(None), Campaign.dispatcher_until < now))
                .values(dispatcher_until=until)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            return rowcount(result) == 1

    async def _release_lease(self, campaign_id: int, lease: datetime) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(Campaign).where(Campaign.id == campaign_id, Campaign.dispatcher_until == lease)
                .values(dispatcher_until=None).execution_options(synchronize_session=False)
            )
            await session.commit()

    async def _claim(self, campaign: Campaign, now: datetime) -> Claim | Busy:
        """Take the pace slot, check the cap, claim the next due person and write their attempt: one
        transaction, so either all of it happened or none of it."""
        step = timedelta(seconds=1 / campaign.calls_per_second)
        async with self._sessions() as session:
            previous = await session.scalar(select(Campaign.next_dial_at).where(Campaign.id == campaign.id))
            if previous is not None and previous > now:
                await session.rollback()
                return Busy("paced", previous)
            # Slot after slot, so the time each claim takes does not slow the pace; after a gap (a window,
            # a full line) the pace starts again from now instead of catching up in a burst.
            base = previous if previous is not None and now - previous < step else now
            seen = Campaign.next_dial_at.is_(None) if previous is None else Campaign.next_dial_at == previous
            slot = await session.execute(
                update(Campaign)
                .where(Campaign.id == campaign.id, Campaign.status == S.RUNNING, seen)
                .values(next_dial_at=base + step)
                .execution_options(synchronize_session=False)
            )
            if rowcount(slot) != 1:
                row = (await session.execute(
                    select(Campaign.status, Campaign.next_dial_at).where(Campaign.id == campaign.id))).one()
                await session.rollback()
                return Busy("paced", row.next_dial_at) if row.status == S.RUNNING else Busy("stopped")
            calling = await session.scalar(select(func.count()).where(
                Recipient.campaign_id == campaign.id, Recipient.state == R.CALLING)) or 0
            if calling >= campaign.max_concurrent:
                await session.rollback()
                return Busy("full", now + timedelta(seconds=FULL_RECHECK_S))
            person = await self._next_person(session, campaign, now)
            if person is None:
                await session.rollback()
                return Busy("idle", await self._next_due(session, campaign.id, now))
            taken = await session.execute(
                update(Recipient)
                .where(Recipient.id == person.id, Recipient.state == person.state, Recipient.tries == person.tries)
                .values(state=R.CALLING, tries=person.tries + 1, attempts=Recipient.attempts + 1, outcome=None,
                        updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(taken) != 1:
                await session.rollback()
                return Busy("contended", now)
            first = not await self._contacted(session, campaign.id, person.id)
            release = await self._capped_until(session, person.phone, now) if first else None
            if release is not None:
                await self._defer(session, campaign.id, previous, person, release, now)
                await session.commit()
                return Busy("contended", now)
            attempt_id = (await session.execute(
                insert(Attempt).values(campaign_id=campaign.id, recipient_id=person.id, seq=person.tries + 1,
                                       channel=campaign.channel, counted=True, status="claimed", claimed_at=now,
                                       step=0, heard=0)
                .returning(Attempt.id)
            )).scalar_one()
            if first:
                await session.execute(insert(Contact).values(
                    phone=person.phone, campaign_id=campaign.id, recipient_id=person.id, attempt_id=attempt_id,
                    channel=campaign.channel, at=now))
            await session.commit()
        return Claim(attempt_id, person.id, campaign.id, person.phone)

    # -- the weekly cap -------------------------------------------------------------------------------

    @staticmethod
    async def _contacted(session: AsyncSession, campaign_id: int, recipient_id: int) -> bool:
        """This campaign already reached out to the person: its retries are not new contacts."""
        return await session.scalar(select(Contact.id).where(
            Contact.campaign_id == campaign_id, Contact.recipient_id == recipient_id).limit(1)) is not None

    async def _capped_until(self, session: AsyncSession, phone: str, now: datetime) -> datetime | None:
        """None when the number may be contacted now; else when enough of its last week's contacts have
        left the 7-day window. Counted under a lock on the number, held until the claim commits."""
        cap = self._callout.settings.outreach_cap_per_week
        if cap <= 0:
            return None
        if session.get_bind().dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(phone.encode()).digest()[:8], "big", signed=True)
            await session.execute(select(func.pg_advisory_xact_lock(key)))
        recent = (await session.scalars(
            select(Contact.at).where(Contact.phone == phone, Contact.at > now - CAP_WINDOW).order_by(Contact.at)
        )).all()
        if len(recent) < cap:
            return None
        return recent[len(recent) - cap] + CAP_WINDOW

    async def _defer(self, session: AsyncSession, campaign_id: int, previous: datetime | None,
                     person: Row[int, str, int, str, datetime], release: datetime, now: datetime) -> None:
        """At the cap: back to waiting until `release`, not counted as an attempt, and the pace slot given
        back (nothing was sent)."""
        await session.execute(
            update(Recipient).where(Recipient.id == person.id)
            .values(state=R.RETRY, tries=person.tries, attempts=Recipient.attempts - 1, outcome=Outcome.CAPPED,
                    next_attempt_at=release, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(next_dial_at=previous)
            .execution_options(synchronize_session=False)
        )
        log.info("campaign %s: recipient %s at the weekly cap until %s", campaign_id, person.id, release)

    async def _next_person(
        self, session: AsyncSession, campaign: Campaign, now: datetime
    ) -> Row[int, str, int, str, datetime] | None:
        """The longest-due person not on the list: a retry or a first call, whichever is due first. One
        indexed range per state (campaign, state, next_attempt_at), so a claim costs the same with 100
        or 100,000 people waiting."""
        found = []
        for state in WAITING:
            found.append((await session.execute(
                select(Recipient.id, Recipient.state, Recipient.tries, Recipient.phone, Recipient.next_attempt_at)
                .where(Recipient.campaign_id == campaign.id, Recipient.state == state,
                       Recipient.next_attempt_at <= now, Recipient.attempts < campaign.max_attempts,
                       ~exists().where(Suppression.phone == Recipient.phone))
                .order_by(Recipient.next_attempt_at)
                .limit(1)
            )).first())
        due = [person for person in found if person is not None]
        return min(due, key=lambda person: (person.next_attempt_at, person.id)) if due else None

    async def _next_due(self, session: AsyncSession, campaign_id: int, now: datetime) -> datetime | None:
        """When the dispatcher has something to do again: the next retry, or a re-check while calls are
        in progress (their ends wake it too); None when nobody is left."""
        due = await session.scalar(select(func.min(Recipient.next_attempt_at)).where(
            Recipient.campaign_id == campaign_id, Recipient.state.in_(WAITING)))
        if due is not None:
            return max(due, now + timedelta(seconds=1))
        calling = await session.scalar(select(func.count()).where(
            Recipient.campaign_id == campaign_id, Recipient.state == R.CALLING))
        return now + timedelta(seconds=30) if calling else None

    def _url(self, path: str, attempt_id: int) -> str:
        return f"{self._callout.settings.public_base_url.rstrip('/')}/callout/twilio/{path}?a={attempt_id}"

    def _answer_url(self, attempt_id: int) -> str:
        return self._url("answer", attempt_id) + "&s=0"  # the first step of the call's dialogue

    async def _place(self, campaign: Campaign, claim: Claim) -> None:
        if campaign.channel in MESSAGE_CHANNELS:
            await self._deliver(campaign, claim)
            return
        provider = self._callout.provider
        try:
            if provider is None:
                raise ProviderError(Fault.CONFIG, None, "outbound calls are not configured")
            sid = await provider.place_call(
                to=claim.phone, url=self._answer_url(claim.attempt_id),
                status_callback=self._url("status", claim.attempt_id),
                amd_callback=self._url("amd", claim.attempt_id),
                ring_timeout_s=self._callout.settings.callout_ring_timeout_s,
            )
        except ProviderError as refused:
            await self._refused(campaign, claim, refused)
            return
        async with self._sessions() as session:
            # A fast callback may have filled the sid in already; the status stays whatever it wrote.
            await session.execute(
                update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.call_sid.is_(None))
                .values(call_sid=sid).execution_options(synchronize_session=False)
            )
            await session.execute(
                update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.placed_at.is_(None))
                .values(placed_at=self._clock.now()).execution_options(synchronize_session=False)
            )
            await session.execute(
                update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.status == "claimed")
                .values(status="queued").execution_options(synchronize_session=False)
            )
            await self._funnel(session, campaign, claim.recipient_id, "voice", funnel.Stage.SENT)
            await session.commit()
        log.info("campaign %s: called %s (attempt %s)", campaign.id, mask_personal(claim.phone), claim.attempt_id)

    async def _deliver(self, campaign: Campaign, claim: Claim) -> None:
        """The message instead of a call: sent, nobody to send it to on this channel, or the provider's
        refusal (settled as a refused call is: passing ones tried again later, not counted)."""
        async with self._sessions() as session:
            recipient = await session.get_one(Recipient, claim.recipient_id)
            # Listed between the claim and now (the list settles only those not being tried): nothing sent.
            listed = await suppressions.is_suppressed(session, recipient.phone)
        try:
            sent = Sent(False, reason="suppressed") if listed else \
                await Delivery(self._callout, campaign, recipient, claim.attempt_id).send()
        except ProviderError as refused:
            await self._refused(campaign, claim, refused)
            return
        now = self._clock.now()
        outcome = Outcome.SENT if sent.sent else Outcome.SUPPRESSED if listed else Outcome.UNREACHABLE
        channel = sent.channel or campaign.channel
        async with self._sessions() as session:
            done = await session.execute(
                update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.outcome.is_(None))
                .values(outcome=outcome, status="sent" if sent.sent else str(outcome), call_sid=sent.sid,
                        error=sent.reason, channel=channel, placed_at=now, ended_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(done) == 1:
                await session.execute(
                    update(Recipient).where(Recipient.id == claim.recipient_id, Recipient.state == R.CALLING)
                    .values(state=R.DONE, outcome=outcome, updated_at=now).execution_options(synchronize_session=False)
                )
                if sent.sent:
                    await self._funnel(session, campaign, claim.recipient_id, channel, funnel.Stage.SENT)
                else:  # nothing reached them: not a contact
                    await session.execute(delete(Contact).where(Contact.attempt_id == claim.attempt_id))
            await session.commit()
        log.info("campaign %s: %s to %s (attempt %s)", campaign.id, outcome, mask_personal(claim.phone),
                 claim.attempt_id)

    async def _funnel(self, session: AsyncSession, campaign: Campaign, recipient_id: int, channel: str,
                      stage: funnel.Stage) -> None:
        await funnel.record(session, subject=funnel.recipient_subject(recipient_id), stage=stage,
                            campaign_id=campaign.id, segment=campaign.segment, channel=channel,
                            business=campaign.business, at=self._clock.now())

    async def _refused(self, campaign: Campaign, claim: Claim, refused: ProviderError) -> None:
        """The provider would not place the call: what that means depends on why."""
        log.warning("campaign %s attempt %s refused by the provider: %s", campaign.id, claim.attempt_id, refused)
        now = self._clock.now()
        counted = refused.fault in (Fault.NUMBER, Fault.OPTED_OUT)
        outcome = Outcome.OPTED_OUT if refused.fault == Fault.OPTED_OUT else Outcome.FAILED
        async with self._sessions() as session:
            await session.execute(
                update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.outcome.is_(None))
                .values(outcome=outcome, status="refused", counted=counted, error_code=refused.code,
                        error=refused.detail[:200] or str(refused.fault), ended_at=now)
                .execution_options(synchronize_session=False)
            )
            # Not placed, not sent: it does not count against the person's weekly cap.
            await session.execute(delete(Contact).where(Contact.attempt_id == claim.attempt_id))
            if counted:
                values: dict = {"state": R.DONE, "outcome": outcome}
            else:  # not the person's fault, nor a call: it does not count against their attempts
                later = now + timedelta(seconds=PASSING_RETRY_S)
                values = {"state": R.RETRY, "attempts": Recipient.attempts - 1, "next_attempt_at": later}
            await session.execute(
                update(Recipient).where(Recipient.id == claim.recipient_id, Recipient.state == R.CALLING)
                .values(updated_at=now, **values).execution_options(synchronize_session=False)
            )
            if refused.fault == Fault.CONFIG:
                await self._pause_for_config(session, campaign.id, refused)
            elif refused.fault == Fault.PASSING:
                await session.execute(
                    update(Campaign).where(Campaign.id == campaign.id)
                    .values(next_dial_at=now + timedelta(seconds=RATE_LIMIT_PAUSE_S))
                    .execution_options(synchronize_session=False)
                )
            await session.commit()
        if refused.fault == Fault.OPTED_OUT:
            await suppressions.add(self._sessions, claim.phone, source="provider", reason=f"Twilio {refused.code}",
                                   evidence={"attempt_id": claim.attempt_id})

    async def _pause_for_config(self, session: AsyncSession, campaign_id: int, refused: ProviderError) -> None:
        """Our account or number is wrong: every call would fail alike, so stop until someone fixes it."""
        result = await session.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.status == S.RUNNING)
            .values(status=S.PAUSED).execution_options(synchronize_session=False)
        )
        if rowcount(result):
            audit.record(session, audit.SYSTEM, "campaign_pause", f"campaign:{campaign_id}",
                         reason="provider_config", code=refused.code, detail=refused.detail[:200])

    # -- the end of an attempt ------------------------------------------------------------------------

    async def settle(self, attempt_id: int, call_status: str, duration_s: int | None,
                     error_code: int | None = None) -> Outcome | None:
        """The call ended (a final status callback): its outcome, and whether the person is tried again,
        done, or sent the SMS fall-back. Once per attempt; a repeat returns None."""
        now = self._clock.now()
        async with self._sessions() as session:
            attempt = await session.get(Attempt, attempt_id)
            if attempt is None or attempt.outcome is not None:
                return None
            outcome = decide(attempt, call_status)
            settled = await session.execute(
                update(Attempt).where(Attempt.id == attempt_id, Attempt.outcome.is_(None))
                .values(outcome=outcome, status=call_status[:20], ended_at=now, duration_s=duration_s,
                        error_code=error_code)
                .execution_options(synchronize_session=False)
            )
            if rowcount(settled) != 1:
                await session.rollback()
                return None
            campaign = await session.get_one(Campaign, attempt.campaign_id)
            recipient = await session.get_one(Recipient, attempt.recipient_id)
            final = _is_final(outcome, campaign) or recipient.attempts >= campaign.max_attempts \
                or campaign.status in (S.CANCELLED, S.COMPLETED)
            if final:
                values: dict = {"state": R.DONE, "outcome": outcome}
            else:
                values = {"state": R.RETRY, "next_attempt_at": now + timedelta(minutes=campaign.retry_minutes)}
            await session.execute(
                update(Recipient).where(Recipient.id == recipient.id, Recipient.state == R.CALLING)
                .values(updated_at=now, **values).execution_options(synchronize_session=False)
            )
            if outcome in (Outcome.ANSWERED, Outcome.TRANSFERRED, Outcome.OPTED_OUT):  # a person picked up
                await self._funnel(session, campaign, recipient.id, "voice", funnel.Stage.DELIVERED)
            await session.commit()
        voicemail_left = outcome == Outcome.MACHINE and campaign.machine_action == MachineAction.VOICEMAIL
        if final and outcome in UNREACHED and not voicemail_left and has_fallback(campaign):
            self._callout.queue.fallback(recipient.id)
        self._callout.queue.dispatch(campaign.id)  # a line is free
        return outcome

    async def _settle_stale(self, campaign_id: int) -> None:
        """Attempts the provider never reported on within the lease: a dispatcher died before dialling
        (no callback at all: not a call, so not counted) or a final callback was lost (counted)."""
        cutoff = self._clock.now() - timedelta(seconds=self._callout.settings.callout_attempt_lease_s)
        async with self._sessions() as session:
            stale = (await session.execute(
                select(Attempt.id, Attempt.call_sid, Attempt.status, Attempt.channel)
                .where(Attempt.campaign_id == campaign_id, Attempt.outcome.is_(None), Attempt.claimed_at < cutoff)
            )).all()
        for attempt_id, call_sid, status, channel in stale:
            # A message whose sender died mid-send is tried again (it may arrive twice: better than never).
            if channel != "voice" or (call_sid is None and status == "claimed"):
                await self._unplaced(attempt_id)
            else:
                await self.settle(attempt_id, "failed", None)

    async def _unplaced(self, attempt_id: int) -> None:
        now = self._clock.now()
        async with self._sessions() as session:
            attempt = await session.get(Attempt, attempt_id)
            done = await session.execute(
                update(Attempt).where(Attempt.id == attempt_id, Attempt.outcome.is_(None))
                .values(outcome=Outcome.FAILED, status="lost", counted=False, error="never placed", ended_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(done) == 1 and attempt is not None:
                await session.execute(
                    update(Recipient).where(Recipient.id == attempt.recipient_id, Recipient.state == R.CALLING)
                    .values(state=R.RETRY, attempts=Recipient.attempts - 1, next_attempt_at=now, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                await session.execute(delete(Contact).where(Contact.attempt_id == attempt_id))
            await session.commit()

    async def _expire(self, campaign_id: int) -> None:
        async with self._sessions() as session:
            # Held back by the weekly cap until the end: "capped", not "expired".
            outcome = case((Recipient.outcome == Outcome.CAPPED, Outcome.CAPPED.value), else_=Outcome.EXPIRED.value)
            await session.execute(
                update(Recipient).where(Recipient.campaign_id == campaign_id, Recipient.state.in_(WAITING))
                .values(state=R.DONE, outcome=outcome, updated_at=self._clock.now())
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    async def _finish_if_done(self, campaign_id: int, again: datetime | None) -> datetime | None:
        """Completed once nobody waits and no call is in progress; otherwise look again at `again`."""
        async with self._sessions() as session:
            left = await session.scalar(select(func.count()).where(
                Recipient.campaign_id == campaign_id, Recipient.state != R.DONE))
            if left:
                return again or self._clock.now() + timedelta(seconds=30)
            await session.execute(
                update(Campaign).where(Campaign.id == campaign_id, Campaign.status == S.RUNNING)
                .values(status=S.COMPLETED, finished_at=self._clock.now())
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        log.info("campaign %s completed", campaign_id)
        return None

    # -- the fall-back -------------------------------------------------------------------------------

    async def send_fallback(self, recipient_id: int) -> str | None:
        """The message after the last unanswered attempt (SMS, WeChat template, or WeChat then SMS): at
        most once (the claim is the `fallback` column); never to a number on the suppression list."""
        async with self._sessions() as session:
            claimed = await session.execute(
                update(Recipient).where(Recipient.id == recipient_id, Recipient.fallback.is_(None),
                                        Recipient.state == R.DONE)
                .values(fallback="sending").execution_options(synchronize_session=False)
            )
            if rowcount(claimed) != 1:
                await session.rollback()
                return None
            await session.commit()
            recipient = await session.get_one(Recipient, recipient_id)
            campaign = await session.get_one(Campaign, recipient.campaign_id)
            listed = await suppressions.is_suppressed(session, recipient.phone)
        wechat_first = campaign.fallback in (Fallback.WECHAT, Fallback.WECHAT_THEN_SMS)
        result: str | None = None
        if listed:
            result = "wechat_skipped" if wechat_first else "sms_skipped"
        elif wechat_first and campaign.wechat_template_id:
            result = await self._send_wechat(campaign, recipient)
            if result != "wechat_sent" and campaign.fallback == Fallback.WECHAT_THEN_SMS:
                result = None  # not reached on WeChat: the SMS instead
        if result is None:
            if campaign.sms_message:
                result = await self._send_sms(campaign, recipient, await self._fallback_attempt(recipient, "sms"))
            else:
                result = "sms_skipped"
        async with self._sessions() as session:
            await session.execute(update(Recipient).where(Recipient.id == recipient_id)
                                  .values(fallback=result, updated_at=self._clock.now()))
            await session.commit()
        return result

    async def _fallback_attempt(self, recipient: Recipient, channel: str) -> Attempt:
        """A try on another channel, numbered after the calls (only the fall-back's claimant gets here)."""
        async with self._sessions() as session:
            seq = (await session.scalar(select(Recipient.tries).where(Recipient.id == recipient.id)) or 0) + 1
            await session.execute(update(Recipient).where(Recipient.id == recipient.id).values(tries=seq))
            attempt = Attempt(campaign_id=recipient.campaign_id, recipient_id=recipient.id, seq=seq, channel=channel,
                              counted=False, status="claimed", claimed_at=self._clock.now(), step=0, heard=0)
            session.add(attempt)
            await session.commit()
        return attempt

    async def _send_wechat(self, campaign: Campaign, recipient: Recipient) -> str:
        """The campaign's template message to the WeChat follower the number is linked to: "wechat_sent",
        or "wechat_failed" (no linked follower, WeChat's refusal, or WeChat not configured here)."""
        notices = self._callout.notices
        if notices is None:
            log.warning("campaign %s: WeChat fall-back wanted but WeChat is not configured", campaign.id)
            return "wechat_failed"
        values = {**recipient.variables, "name": recipient.name}
        data = {key: messages.parse(text, what=f"wechat_data.{key}").render(values)
                for key, text in (campaign.wechat_data or {}).items()}
        found = await notices.send(recipient.phone, campaign.wechat_template_id or "", data)
        if found.reason == "no_wechat":
            return "wechat_failed"  # not a follower we know: no try to record
        attempt = await self._fallback_attempt(recipient, "wechat")
        done = {"status": "sent", "outcome": Outcome.ANSWERED} if found.sent else \
            {"status": "refused", "outcome": Outcome.FAILED, "error_code": found.errcode, "error": found.reason}
        async with self._sessions() as session:
            await session.execute(update(Attempt).where(Attempt.id == attempt.id)
                                  .values(ended_at=self._clock.now(), **done))
            await session.commit()
        return "wechat_sent" if found.sent else "wechat_failed"

    async def _send_sms(self, campaign: Campaign, recipient: Recipient, attempt: Attempt) -> str:
        body = messages.parse(campaign.sms_message or "", what="sms_message").render(
            {**recipient.variables, "name": recipient.name})
        provider = self._callout.provider
        values: dict
        try:
            if provider is None:
                raise ProviderError(Fault.CONFIG, None, "SMS is not configured")
            sid = await provider.send_text(to=recipient.phone, body=body)
            values, result = {"status": "sent", "outcome": Outcome.ANSWERED, "call_sid": sid}, "sms_sent"
        except ProviderError as refused:
            values = {"status": "refused", "outcome": Outcome.FAILED, "error_code": refused.code,
                      "error": refused.detail[:200] or str(refused.fault)}
            result = "sms_failed"
        async with self._sessions() as session:
            await session.execute(update(Attempt).where(Attempt.id == attempt.id)
                                  .values(ended_at=self._clock.now(), **values))
            await session.commit()
        return result


def decide(attempt: Attempt, call_status: str) -> Outcome:
    """An attempt's outcome from what happened in the call and how it ended."""
    if attempt.marked in (Outcome.OPTED_OUT, Outcome.TRANSFERRED):  # what the person chose during the call
        return Outcome(attempt.marked)
    if (attempt.answered_by or "").startswith(("machine", "fax")) and call_status == "completed":
        return Outcome.MACHINE
    return CALL_STATUS_OUTCOME.get(call_status, Outcome.FAILED)


def has_fallback(campaign: Campaign) -> bool:
    """Whether the campaign sends anything after the last unanswered attempt."""
    if campaign.fallback in (Fallback.WECHAT, Fallback.WECHAT_THEN_SMS) and campaign.wechat_template_id:
        return True
    return bool(campaign.sms_message)


def _is_final(outcome: Outcome, campaign: Campaign) -> bool:
    if outcome == Outcome.MACHINE:
        return campaign.machine_action == MachineAction.VOICEMAIL  # the message was left
    return outcome in FINAL

