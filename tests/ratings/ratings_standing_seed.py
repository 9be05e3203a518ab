"""Fixed data for the standing tests (API and browser): ratings of an agent's service with their cases, and
conversations the agent took, with known times. The score they give is worked out in `low_scorer`."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from agent_console.models import Assignment, Handoff, HandoffState
from conversations.models import Citizen, Conversation
from ratings.context import Ratings
from ratings.models import Rating, RectificationCase

CITIZEN = "c0ffee00c0ffee00c0ffee00c0ffee00"
COMMENT = "<b>市民的话</b>"
_keys = itertools.count(1)


async def rate(ratings: Ratings, agent_id: int, level: int, at: datetime, *, verified: bool = False,
               case: bool = False, upheld: bool = False) -> None:
    """A rating of the agent's service; a bad one may have its case, verified, or its appeal upheld."""
    async with ratings.sessions() as session:
        rating = Rating(event_key=f"standing-test:{next(_keys)}:{at.timestamp()}", kind="agent", channel="app",
                        level=level, reasons=[], comment=COMMENT, business="loan", department="客服中心",
                        agent_id=agent_id, citizen_id=CITIZEN, conversation_id=None, created_at=at,
                        mark="appeal_upheld" if upheld else None, marked_at=at if upheld else None)
        session.add(rating)
        await session.flush()
        if case or verified or upheld:
            session.add(RectificationCase(
                rating_id=rating.id, department="客服中心", status="closed" if upheld else "verified",
                opened_at=at, callback_due_at=at + timedelta(days=1), due_at=at + timedelta(days=7),
                verified_at=at + timedelta(hours=2) if verified or upheld else None, escalation=0,
                appeal="upheld" if upheld else None,
            ))
        await session.commit()


async def served(ratings: Ratings, agent_id: int, started: datetime, *, first_s: float, handled_s: float,
                 how: str = "grab") -> None:
    """One conversation taken by the agent at `started`, first reply after `first_s`, finished after `handled_s`."""
    async with ratings.sessions() as session:
        citizen = Citizen()
        session.add(citizen)
        await session.flush()
        conversation = Conversation(citizen_id=citizen.id, channel="app", status="bot")
        session.add(conversation)
        await session.flush()
        handoff = Handoff(conversation_id=conversation.id, citizen_id=citizen.id, channel="app",
                          state=HandoffState.FINISHED, reason="citizen_request", agent_id=agent_id,
                          requested_at=started, queued_at=started, waiting_since=started, claimed_at=started,
                          finished_at=started + timedelta(seconds=handled_s))
        session.add(handoff)
        await session.flush()
        session.add(Assignment(handoff_id=handoff.id, conversation_id=conversation.id, agent_id=agent_id, how=how,
                               started_at=started, first_response_at=started + timedelta(seconds=first_s),
                               ended_at=started + timedelta(seconds=handled_s), end="finished"))
        await session.commit()


async def low_scorer(ratings: Ratings, agent_id: int, colleague_id: int, now: datetime) -> None:
    """Five counted ratings (5, 5, 4, 2 verified, 1 unverified), one marked by an upheld appeal, one from
    before the window, a colleague's verified 1; two grabs (replies after 20 s and 40 s, handled in 300 s and
    1500 s). Score: ratings (10+10+8+3+0)/5 × 10 = 62; response 100; handling 600/900 = 66.67; grabs
    2/20 = 10; (60×62 + 15×100 + 10×66.67 + 15×10)/100 = 60.37, less 10 for the verified bad: 50.4."""
    yesterday = now - timedelta(days=1)
    for level in (5, 5, 4):
        await rate(ratings, agent_id, level, yesterday)
    await rate(ratings, agent_id, 2, yesterday, verified=True)
    await rate(ratings, agent_id, 1, yesterday, case=True)
    await rate(ratings, agent_id, 1, yesterday, upheld=True)
    await rate(ratings, agent_id, 1, now - timedelta(days=31))
    await rate(ratings, colleague_id, 1, yesterday, verified=True)
    await served(ratings, agent_id, yesterday, first_s=20, handled_s=300)
    await served(ratings, agent_id, yesterday, first_s=40, handled_s=1500)
