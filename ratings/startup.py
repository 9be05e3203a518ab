"""Ratings in the service: the context, built once at start; each part registers its seams here."""
from __future__ import annotations

from functools import partial

from sqlalchemy.ext.asyncio import async_sessionmaker

from agent_console.context import Console
from channels.voice.phone_line import PhoneLine
from conversations.bot_client import RasaClient
from conversations.hub import Hub
from core.bus import EventBus
from core.clock import SystemClock
from core.services import Services
from core.settings import Settings
from ratings.context import Ratings
from ratings.conversation import ConversationRatings
from ratings.deadlines import DeadlineWatch
from ratings.follow_up import FollowUps
from ratings.phone import PhoneRatings
from ratings.standing_watch import StandingWatch
from ratings.suspensions import gate


async def start(services: Services) -> None:
    ratings = Ratings(settings=services.get(Settings), sessions=services.get(async_sessionmaker),
                      bus=services.get(EventBus), clock=SystemClock())
    services.provide(Ratings, ratings)
    # In conversations: the console asks through ratings when an agent finishes, and the hub shows ratings
    # every citizen message first (answers to a request, reasons and comment, thanks to the bot).
    in_conversations = ConversationRatings(ratings, services.find(RasaClient))
    if (console := services.find(Console)) is not None:
        console.register_rating_asker(in_conversations.ask_after_handoff)
    services.get(Hub).register_interceptor(in_conversations)
    if (line := services.find(PhoneLine)) is not None:  # keys 1-5 at the end of a call
        line.register_rater(PhoneRatings(ratings))
    # The agents' standing (动态退出): a suspended agent does not go on duty; the rules run after each
    # rating of an agent and periodically.
    console = services.find(Console)
    if console is not None:
        console.register_duty_gate(partial(gate, ratings))
    watch = StandingWatch(ratings, console)
    services.provide(StandingWatch, watch)
    watch.start()
    # Rectification: the citizen's follow-up rating of a replied case; overdue cases escalate.
    services.get(Hub).register_interceptor(FollowUps(ratings))
    deadlines = DeadlineWatch(ratings)
    services.provide(DeadlineWatch, deadlines)
    deadlines.start()


async def stop(services: Services) -> None:
    if (deadlines := services.find(DeadlineWatch)) is not None:
        await deadlines.stop()
    if (watch := services.find(StandingWatch)) is not None:
        await watch.stop()
    return None
