"""The conversation hub: every channel's messages go through here.

A citizen message is stored before anything else happens (never lost), then answered by the bot
while the conversation is in bot mode. When Rasa is down or slow the citizen still gets an
answer within the deadline: the knowledge base's own answer, or an honest "try again"; a plain
request for a person ("转人工") goes to the agents' pool through the handoff contract instead.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from conversations.asking import PersonRequest, asks_for_person
from conversations.bot_client import BotUnavailable, RasaClient
from conversations.events import NewMessage, Typing
from conversations.handoff import HandoffOutcome, Handoffs, HandoffUnavailable
from conversations.inbound import Inbound
from conversations.models import (
    Author,
    Citizen,
    Conversation,
    ConversationStatus,
    Direction,
    Identity,
    Message,
    ServiceInstance,
)
from conversations.replies import Reply, explanation, reply_of
from core.bus import EventBus
from core.db import rowcount, utcnow
from core.errors import ApiError
from core.logcontext import conversation_id as log_conversation
from core.metrics import ANSWER_DECISIONS, TURNS
from knowledge.answer import Answerer, Status
from knowledge.media import MediaLibrary, for_reply
from knowledge.search import IndexNotReady, KnowledgeBase

log = logging.getLogger(__name__)

FALLBACK_DEADLINE_S = 1.5
PERSONALISE_DEADLINE_S = 1.0  # inside the 5 s a citizen waits at most for an answer
MEDIA_DEADLINE_S = 0.5
# How long the instance that stored a citizen message has to answer it before a retry may: twice the
# longest answer (bot deadline, fallback, personalising), yet before WeChat's last retry (about 15 s).
ANSWER_LEASE = timedelta(seconds=10)
LEASE_POLL_S = 0.5  # how often a retry looks for the first attempt's answer while its lease runs
# Each instance says it is alive this often; one silent for DEAD_AFTER holds no lease any more.
HEARTBEAT_S = 1.0
DEAD_AFTER = timedelta(seconds=4)
# Sees each new citizen message with the conversation's status before the bot does; replies (sent as
# system messages) mean "handled here": the bot is not asked. None lets the message go on.
Interceptor = Callable[[Conversation, Message, str], Awaitable[list[Reply] | None]]
# May rewrite an answer's links for the conversation's citizen (a personal link instead of the generic
# business form); registered by a package above this one, so conversations need not know it.
LinkPersonaliser = Callable[[Conversation, Reply], Awaitable[Reply]]
# As the bot's action_handoff words it, so a citizen cannot tell which side queued them.
COMPLAINT_OPENING = "很抱歉给您带来了不好的体验。"
LEAVE_MESSAGE_BUTTON = {"title": "不等了，留言", "payload": "留言"}


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def decision_of(replies: list[Reply]) -> str:
    """What the first reply was, for the figures: the bot's own account of its decision where it gives
    one (`explain.decision`), the knowledge base's fallback when Rasa could not answer, else "bot"."""
    if not replies:
        return "none"
    meta = replies[0].meta
    explain = meta.get("explain")
    decision = explain.get("decision") if isinstance(explain, dict) else None
    if isinstance(decision, str):
        return decision[:32]
    if meta.get("fallback"):
        return f"fallback_{str(meta['fallback'])[:20]}"
    return "bot"


@dataclass(frozen=True)
class Sent:
    """An outgoing message as the hub stored it: the Reply each channel renders in its own way, and
    the stored message (its id for delivery records, its JSON for the pages and the console)."""

    reply: Reply
    message: Message


Pusher = Callable[[Sent], Awaitable[None]]


@dataclass
class Turn:
    conversation_id: str
    message: Message                                   # the citizen's message, as stored
    sent: list[Sent] = field(default_factory=list)     # what answered it, in order
    duplicate: bool = False

    @property
    def replies(self) -> list[Reply]:
        return [sent.reply for sent in self.sent]


class Hub:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        bot: RasaClient,
        knowledge: KnowledgeBase | None,
        hotline: str,
        bot_deadline_s: float,
        handoffs: Handoffs | None = None,
        media: MediaLibrary | None = None,
    ) -> None:
        self._sessions = sessionmaker
        self.instance_id = uuid.uuid4().hex  # this process, as the holder of answer leases
        self._bus = bus
        self._bot = bot
        self._knowledge = knowledge
        self._hotline = hotline
        self._deadline = bot_deadline_s
        self._handoffs = handoffs  # None: without the bot, a request for a person gets the knowledge base
        self._pushers: dict[str, Pusher] = {}
        self._interceptors: list[Interceptor] = []
        self._personaliser: LinkPersonaliser | None = None
        self._media = media  # None: answers go without their articles' pictures and videos

    def register_pusher(self, channel: str, pusher: Pusher) -> None:
        """Channels that cannot hold a socket open to the citizen (WeChat, SMS) deliver messages sent
        outside a request (agent replies, queue updates) through their pusher."""
        self._pushers[channel] = pusher

    def register_interceptor(self, interceptor: Interceptor) -> None:
        """For replies that belong to the service, not the bot, on every channel: a rating after an
        agent finished, "留言" while waiting in the queue."""
        self._interceptors.append(interceptor)

    def register_link_personaliser(self, personaliser: LinkPersonaliser) -> None:
        """The bot's answers that carry links pass through it before they are stored and sent."""
        self._personaliser = personaliser

    async def _personalised(self, conversation: Conversation, reply: Reply) -> Reply:
        if self._personaliser is None or not reply.links:
            return reply
        try:
            return await asyncio.wait_for(self._personaliser(conversation, reply), timeout=PERSONALISE_DEADLINE_S)
        except Exception:  # a personal link is a nicety: the generic link still answers the citizen
            log.exception("link personaliser failed for conversation %s", conversation.id)
            return reply

    async def _illustrated(self, replies: list[Reply]) -> list[Reply]:
        """Answers from an article carry its pictures, videos and diagrams (in the article's order)."""
        wanted = [r for r in replies if self._media is not None and r.sources and not r.media]
        if not wanted or self._media is None:
            return replies
        try:
            found = await asyncio.wait_for(
                self._media.of_articles(r.sources[0]["article_id"] for r in wanted), timeout=MEDIA_DEADLINE_S)
        except Exception:  # pictures are a help, never a reason for the citizen to go without the answer
            log.exception("media lookup failed")
            return replies
        for reply in wanted:
            reply.media = [for_reply(m) for m in found.get(reply.sources[0]["article_id"], [])]
        return replies

    # -- identities and conversations -------------------------------------------------------

    async def open_conversation(self, *, channel: str, kind: str, value: str) -> Conversation:
        """The citizen's open conversation on this channel, created (with the citizen) if needed."""
        async with self._sessions() as session:
            citizen_id = await self._citizen_for(session, kind, value)
            return await self._open_for(session, citizen_id, channel)

    async def conversation_for(self, inbound: Inbound) -> Conversation:
        """The open conversation an inbound message belongs to: its citizen's, on its channel."""
        citizen = inbound.citizen
        return await self.open_conversation(channel=inbound.channel, kind=citizen.kind, value=citizen.value)

    async def _citizen_for(self, session: AsyncSession, kind: str, value: str) -> str:
        query = select(Identity.citizen_id).where(Identity.kind == kind, Identity.value == value)
        found = await session.scalar(query)
        if found:
            return found
        citizen = Citizen()
        session.add(citizen)
        session.add(Identity(citizen=citizen, kind=kind, value=value))
        try:
            await session.commit()
            return citizen.id
        except IntegrityError:  # another request created it first
            await session.rollback()
            return (await session.execute(query)).scalar_one()

    async def _open_for(self, session: AsyncSession, citizen_id: str, channel: str) -> Conversation:
        key = f"{citizen_id}:{channel}"
        found = await session.scalar(select(Conversation).where(Conversation.open_key == key))
        if found:
            return found
        conversation = Conversation(citizen_id=citizen_id, channel=channel, open_key=key)
        session.add(conversation)
        try:
            await session.commit()
            return conversation
        except IntegrityError:
            await session.rollback()
            return (await session.execute(select(Conversation).where(Conversation.open_key == key))).scalar_one()

    async def history(self, conversation_id: str, after_id: int = 0, limit: int = 200) -> list[Message]:
        """The newest `limit` messages after `after_id`, oldest first."""
        return list(reversed(await self._messages(conversation_id, after_id, limit, Message.id.desc())))

    async def since(self, conversation_id: str, after_id: int, limit: int = 200) -> list[Message]:
        """The oldest `limit` messages after `after_id`, oldest first: a client resuming from its cursor
        pages forward, so however far behind it fell, nothing between is skipped."""
        return await self._messages(conversation_id, after_id, limit, Message.id)

    async def _messages(self, conversation_id: str, after_id: int, limit: int, order: Any) -> list[Message]:
        async with self._sessions() as session:
            query = (
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.id > after_id)
                .order_by(order)
                .limit(limit)
            )
            return list((await session.scalars(query)).all())

    # -- messages -------------------------------------------------------------------------------

    async def receive(
        self, conversation: Conversation, inbound: Inbound, *, fixed_replies: list[Reply] | None = None
    ) -> Turn:
        """Store a citizen message and, in bot mode, answer it. Retries with the same client id are
        stored once; the retry gets the replies of the first attempt. In bot mode `fixed_replies`, if
        given, answer instead of the bot: for input it cannot read (an image, an event); [] for none."""
        if inbound.channel != conversation.channel:
            raise ValueError(f"a {inbound.channel} message for a {conversation.channel} conversation")
        stored, duplicate = await self._store_inbound(conversation, inbound)
        if duplicate:
            earlier = await self._earlier_answer(conversation, stored)
            if earlier is not None:
                return Turn(conversation.id, stored, earlier, duplicate=True)
            log.warning("message %s was never answered (its instance stopped mid-answer): answering the retry",
                        stored.id)
        else:
            await self._publish(stored)
        TURNS.labels(conversation.channel).inc()
        log_conversation.set(conversation.id)  # in every log line from here on (JSON logs)
        status = await self._status(conversation.id)
        for intercept in self._interceptors:
            handled = await intercept(conversation, stored, status)
            if handled is not None:
                ANSWER_DECISIONS.labels("service").inc()
                sent = [
                    await self._post(conversation.id, conversation.channel, Author.SYSTEM, reply, in_reply_to=stored.id)
                    for reply in handled
                ]
                return Turn(conversation.id, stored, sent)
        if status != ConversationStatus.BOT:
            ANSWER_DECISIONS.labels("person").inc()
            return Turn(conversation.id, stored)  # an agent (or the queue) owns it: the bot stays silent
        await self._bus.publish(conversation_topic(conversation.id), Typing())
        replies = fixed_replies if fixed_replies is not None else await self._answer(conversation, inbound.text)
        replies = [await self._personalised(conversation, reply) for reply in replies]
        replies = await self._illustrated(replies)
        ANSWER_DECISIONS.labels(decision_of(replies)).inc()
        sent = [
            await self._post(conversation.id, conversation.channel, Author.BOT, reply, in_reply_to=stored.id)
            for reply in replies
        ]
        return Turn(conversation.id, stored, sent)

    async def send(
        self,
        conversation_id: str,
        channel: str,
        author: Author,
        reply: Reply,
        *,
        in_reply_to: int | None = None,
        push: bool = False,
    ) -> Message:
        """Store and publish an outgoing message. `push` also hands it to the channel's pusher, for
        messages no request is waiting for (an agent's reply, a queue position update)."""
        return (await self._post(conversation_id, channel, author, reply, in_reply_to=in_reply_to, push=push)).message

    async def _post(
        self,
        conversation_id: str,
        channel: str,
        author: Author,
        reply: Reply,
        *,
        in_reply_to: int | None = None,
        push: bool = False,
    ) -> Sent:
        payload = reply.payload() | ({"in_reply_to": in_reply_to} if in_reply_to else {})
        message = Message(
            conversation_id=conversation_id,
            channel=channel,
            direction=Direction.OUT,
            author=author,
            text=reply.text,
            payload=payload,
        )
        async with self._sessions() as session:
            session.add(message)
            await session.commit()
        await self._publish(message)
        sent = Sent(reply, message)
        pusher = self._pushers.get(channel) if push else None
        if pusher is not None:
            await pusher(sent)
        return sent

    async def _store_inbound(self, conversation: Conversation, inbound: Inbound) -> tuple[Message, bool]:
        client_msg_id = inbound.client_msg_id
        payload = inbound.payload() | ({"client_msg_id": client_msg_id} if client_msg_id else {})
        message = Message(
            conversation_id=conversation.id,
            channel=conversation.channel,
            direction=Direction.IN,
            author=Author.CITIZEN,
            text=inbound.text,
            payload=payload,
            client_msg_id=client_msg_id,
            answer_lease_until=utcnow() + ANSWER_LEASE,
            answering_instance=self.instance_id,
        )
        async with self._sessions() as session:
            session.add(message)
            try:
                await session.commit()
                return message, False
            except IntegrityError:
                await session.rollback()
                existing = await session.execute(
                    select(Message).where(
                        Message.conversation_id == conversation.id, Message.client_msg_id == client_msg_id
                    )
                )
                return existing.scalar_one(), True

    async def _earlier_answer(self, conversation: Conversation, message: Message) -> list[Sent] | None:
        """A retry's answer: the first attempt's replies, waiting for them while that attempt may still be
        answering; None when this retry must answer, the first attempt's instance having died mid-answer.
        A person's conversation gets no bot reply: nothing to wait for."""
        if await self._status(conversation.id) != ConversationStatus.BOT:
            return await self._replies_to(message)
        give_up = asyncio.get_running_loop().time() + 2 * ANSWER_LEASE.total_seconds()
        while True:
            earlier = await self._replies_to(message)
            if earlier:
                return earlier
            if await self._take_over_answering(message):
                return None
            if asyncio.get_running_loop().time() > give_up:  # another retry took it over and has not answered
                return []
            await asyncio.sleep(LEASE_POLL_S)

    async def _take_over_answering(self, message: Message) -> bool:
        """Whether this retry now answers a message with no reply: only once the lease of whoever
        stored it has run out (a live instance answers well within it), and only one retry wins."""
        now = utcnow()
        dead = select(ServiceInstance.id).where(ServiceInstance.seen_at < now - DEAD_AFTER)
        async with self._sessions() as session:
            taken = await session.execute(
                update(Message)
                .where(Message.id == message.id,
                       or_(Message.answer_lease_until.is_(None), Message.answer_lease_until < now,
                           Message.answering_instance.in_(dead)))
                .values(answer_lease_until=now + ANSWER_LEASE, answering_instance=self.instance_id)
            )
            await session.commit()
        # The first attempt may have stored its replies between the look and the lease.
        return rowcount(taken) == 1 and not await self._replies_to(message)

    async def keep_alive(self) -> None:
        """Says every HEARTBEAT_S that this instance lives (run as a task for the service's lifetime).
        A beat the database misses is only late: the lease still bounds every wait."""
        forgotten = False
        while True:
            try:
                await self._beat(utcnow())
                if not forgotten:  # instances gone for a day are forgotten, once per start
                    async with self._sessions() as session:
                        await session.execute(
                            delete(ServiceInstance).where(ServiceInstance.seen_at < utcnow() - timedelta(days=1)))
                        await session.commit()
                    forgotten = True
            except Exception:  # noqa: BLE001  (the database is down: beat again when it is back)
                log.debug("heartbeat missed", exc_info=True)
            await asyncio.sleep(HEARTBEAT_S)

    async def stopped(self) -> None:
        """On a clean stop: the leases this instance still holds may be taken over at once."""
        await self._beat(utcnow() - 2 * DEAD_AFTER)

    async def _beat(self, at: datetime) -> None:
        async with self._sessions() as session:
            seen = await session.execute(
                update(ServiceInstance).where(ServiceInstance.id == self.instance_id).values(seen_at=at))
            if rowcount(seen) == 0:
                session.add(ServiceInstance(id=self.instance_id, seen_at=at))
            await session.commit()

    async def _replies_to(self, message: Message) -> list[Sent]:
        later = await self.history(message.conversation_id, after_id=message.id, limit=50)
        return [Sent(reply_of(m), m) for m in later if m.in_reply_to == message.id]

    async def _status(self, conversation_id: str) -> str:
        async with self._sessions() as session:
            found = await session.execute(select(Conversation.status).where(Conversation.id == conversation_id))
            return found.scalar_one()

    async def _publish(self, message: Message) -> None:
        await self._bus.publish(conversation_topic(message.conversation_id), NewMessage(message=message.to_dict()))

    # -- answering ------------------------------------------------------------------------------

    async def _answer(self, conversation: Conversation, text: str) -> list[Reply]:
        try:
            replies = await asyncio.wait_for(
                self._bot.send(conversation.id, text, {"channel": conversation.channel}), timeout=self._deadline
            )
            if replies:
                return replies
            log.warning("bot returned no reply for conversation %s", conversation.id)
        except (BotUnavailable, asyncio.TimeoutError) as exc:
            log.warning("bot unavailable for conversation %s: %s", conversation.id, type(exc).__name__)
        return [await self._person_fallback(conversation, text) or await self._knowledge_fallback(text)]

    async def _person_fallback(self, conversation: Conversation, text: str) -> Reply | None:
        """Without the bot, a plain request for a person still reaches the pool; None for anything else."""
        reason = asks_for_person(text)
        if reason is None or self._handoffs is None:
            return None
        opening = COMPLAINT_OPENING if reason == "complaint" else ""
        try:
            # intent and slots given: the desk would otherwise ask Rasa's tracker, which is down.
            # Not cut short by a deadline: cancelled half way it could queue the citizen untold.
            outcome = await self._handoffs.request(
                conversation_id=conversation.id, reason=reason, intent=_intent(reason), slots={}
            )
        except HandoffUnavailable:
            return None
        except ApiError as refused:  # too many requests, a closed conversation: the desk's own words
            return Reply(text=opening + refused.message, meta={"fallback": "handoff", "handoff": refused.code})
        except Exception:
            log.exception("handoff without the bot failed for conversation %s", conversation.id)
            return Reply(
                text=f"{opening}抱歉，暂时无法为您转接人工客服，您的留言已保存。"
                f"请稍后再试，或拨打服务热线 {self._hotline}。",
                meta={"fallback": "handoff", "handoff": "failed"},
            )
        return _handoff_reply(opening, outcome)

    async def _knowledge_fallback(self, text: str) -> Reply:
        """Answer from the knowledge base alone, saying so; never a made-up answer."""
        if self._knowledge is not None:
            try:
                search = run_in_threadpool(Answerer(self._knowledge, self._hotline).answer, text)
                # Bounded too: with the bot's deadline this keeps every reply within 5 seconds.
                answer = await asyncio.wait_for(search, timeout=FALLBACK_DEADLINE_S)
            except (IndexNotReady, asyncio.TimeoutError):
                answer = None
            # Only what the knowledge base is sure of; without the bot a decline could be a misreading.
            if answer is not None and answer.status in (Status.ANSWER, Status.CLARIFY):
                return Reply(
                    text="智能助手暂时繁忙，先为您找到知识库中的相关内容：\n\n" + answer.text,
                    buttons=answer.buttons,
                    links=answer.links,
                    sources=answer.sources,
                    meta={"fallback": "knowledge", **explanation(answer.explain)},
                )
        return Reply(
            text=f"抱歉，系统暂时繁忙，您的留言已保存。请稍后再试，或拨打服务热线 {self._hotline}。",
            meta={"fallback": "unavailable"},
        )


def _intent(reason: PersonRequest) -> str:
    return "complaint" if reason == "complaint" else "ask_human"


def _handoff_reply(opening: str, outcome: HandoffOutcome) -> Reply:
    """The pool's outcome as the bot would tell it: the queue (with a way out) or the callback ticket."""
    waiting = outcome.outcome in ("queued", "already_waiting")
    return Reply(
        text=opening + outcome.message,
        buttons=[dict(LEAVE_MESSAGE_BUTTON)] if waiting else [],
        meta={"fallback": "handoff", "handoff": outcome.outcome},
    )
