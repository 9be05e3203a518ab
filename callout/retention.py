"""Retention of call records: kept CALLOUT_RETENTION_DAYS (at least 30, China's call-centre rules) after a
campaign finished, then anonymised by a daily task.

What goes: the provider's raw callbacks (`callout_call_events`), each attempt's call id, spoken script,
error text and link to the person's conversation, and each recipient's number, name and variables.
What stays: outcomes, durations, times, error codes and the counts built from them, so old campaigns
still report. The suppression list is never touched: a "no more calls" holds for good.

The weekly cap's contacts (a number and when) matter for 7 days only: the same task deletes older ones,
whatever the campaign's state.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import String, delete, select, update

from callout.context import Callout
from callout.dialer import CAP_WINDOW
from callout.models import Attempt, CallEvent, Campaign, CampaignStatus, Contact, Recipient
from core.db import rowcount

log = logging.getLogger(__name__)

FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELLED)


async def purge(callout: Callout) -> list[int]:
    """Anonymise every campaign that finished before the retention period; the campaigns it did."""
    cutoff = callout.clock.now() - timedelta(days=callout.settings.callout_retention_days)
    async with callout.sessions() as session:
        due = (await session.scalars(
            select(Campaign.id).where(Campaign.status.in_([str(s) for s in FINISHED]), Campaign.finished_at < cutoff,
                                      Campaign.purged_at.is_(None))
        )).all()
    done = [campaign_id for campaign_id in due if await _purge_one(callout, campaign_id)]
    await _forget_contacts(callout)
    if done:
        log.info("callout retention: anonymised the records of campaigns %s", done)
    return done


async def _purge_one(callout: Callout, campaign_id: int) -> bool:
    """One campaign in one transaction; the conditional UPDATE on purged_at makes a second run (another
    worker at the same time) a no-op."""
    async with callout.sessions() as session:
        claimed = await session.execute(
            update(Campaign).where(Campaign.id == campaign_id, Campaign.purged_at.is_(None))
            .values(purged_at=callout.clock.now()).execution_options(synchronize_session=False)
        )
        if rowcount(claimed) != 1:
            await session.rollback()
            return False
        attempts = select(Attempt.id).where(Attempt.campaign_id == campaign_id).scalar_subquery()
        await session.execute(delete(CallEvent).where(CallEvent.attempt_id.in_(attempts))
                              .execution_options(synchronize_session=False))
        await session.execute(
            update(Attempt).where(Attempt.campaign_id == campaign_id)
            .values(call_sid=None, last_twiml=None, error=None, conversation_id=None)
            .execution_options(synchronize_session=False)
        )
        # The number must stay unique within the campaign: the row's own id stands in for it.
        await session.execute(
            update(Recipient).where(Recipient.campaign_id == campaign_id)
            .values(phone="~" + Recipient.id.cast(String), name="", variables={})
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    return True


async def _forget_contacts(callout: Callout) -> None:
    """Contacts that no longer count against anyone's cap (a day's margin over the week)."""
    async with callout.sessions() as session:
        await session.execute(delete(Contact).where(Contact.at < callout.clock.now() - CAP_WINDOW - timedelta(days=1))
                              .execution_options(synchronize_session=False))
        await session.commit()
