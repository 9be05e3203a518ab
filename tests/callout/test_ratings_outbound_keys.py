"""好差评 after an automated outbound call, on SQLite and PostgreSQL through the fake Twilio: the person who
heard the message and has nothing more is asked once for a key 1-5; the key is recorded once (a replayed
callback changes nothing), another key or none rates nothing, and without the ratings the call ends as before."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from core.bus import LocalBus
from ratings.context import Ratings
from ratings.models import Rating, RatingRequest
from tests.callout.helpers import PUBLIC_BASE, Line, action, campaign_app, client, one_call, spoken


@pytest.fixture
async def rated_line(line):
    """The campaign line with the ratings in the service, as the app has them."""
    ratings = Ratings(settings=line.callout.settings, sessions=line.callout.sessions, bus=LocalBus(), clock=line.clock)
    async with client(campaign_app(line.callout, (Ratings, ratings))) as api:
        yield Line(callout=line.callout, api=api, twilio=line.twilio, clock=line.clock)


async def heard(line: Line) -> tuple[str, dict[str, str]]:
    """A call answered, the message heard, then silence: the TwiML after it, and Twilio's base fields."""
    _, base = await one_call(line)
    first = await line.post(f"{PUBLIC_BASE}/callout/twilio/answer?a=1&s=0", base)
    end = await line.post(action(first.text), base)
    assert end.status_code == 200, end.text
    return end.text, base


async def stored(line: Line, model) -> list:
    async with line.callout.sessions() as session:
        return list(await session.scalars(select(model)))


async def test_after_the_message_a_key_rates_the_call_once(rated_line):
    end, base = await heard(rated_line)
    rating = ET.fromstring(end).find("Gather")
    assert rating is not None and rating.get("input") == "dtmf" and rating.get("numDigits") == "1"
    assert rating.get("action") == f"{PUBLIC_BASE}/callout/twilio/rate?a=1&s=2"
    assert any("非常满意请按五" in text for text in spoken(end)) and ET.fromstring(end).find("Hangup") is not None
    [asked] = await stored(rated_line, RatingRequest)
    assert (asked.kind, asked.event_key) == ("outbound", f"call:{base['CallSid']}")

    done = await rated_line.post(rating.get("action"), base | {"Digits": "4"})
    assert "感谢您的评价" in "".join(spoken(done.text))
    again = await rated_line.post(rating.get("action"), base | {"Digits": "1"})  # Twilio retried
    assert again.text == done.text
    [rated] = await stored(rated_line, Rating)
    assert (rated.level, rated.kind, rated.channel, rated.agent_id) == (4, "outbound", "phone", None)
    assert rated.event_key == f"call:{base['CallSid']}"


@pytest.mark.parametrize("digits", ["0", "6", "9", ""])
async def test_another_key_or_none_rates_nothing(rated_line, digits):
    end, base = await heard(rated_line)
    done = await rated_line.post(action(end), base | {"Digits": digits})
    assert "感谢您的接听" in "".join(spoken(done.text)) and ET.fromstring(done.text).find("Gather") is None
    assert await stored(rated_line, Rating) == []


async def test_a_forged_rating_callback_is_refused(rated_line):
    end, base = await heard(rated_line)
    forged = await rated_line.post(action(end), base | {"Digits": "5"}, signature="forged")
    assert forged.status_code == 403 and forged.json()["code"] == "bad_signature"
    assert await stored(rated_line, Rating) == []


async def test_without_the_ratings_the_call_ends_as_before(line):
    end, _base = await heard(line)
    assert ET.fromstring(end).find("Gather") is None and "感谢您的接听，再见。" in spoken(end)
