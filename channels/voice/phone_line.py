"""The phone line's conversation logic: what each Twilio webhook does for a call, and what it says.

Each call is one conversation in the hub (channel "phone", identity = the caller's number). Speech
and keys go through `hub.receive`; answers come back rewritten for the ear. Asking for a person (by
voice or 0) goes to the agent pool; the caller then waits in the call's own Twilio queue until the
claim arrives, or leaves a message for a callback when nobody is on duty.
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.twiml.voice_response import VoiceResponse

from channels.voice import twiml
from channels.voice.calls import CallStore
from channels.voice.handoff import ClaimWatcher
from channels.voice.models import CallStage, VoiceCall
from channels.voice.phone_inbound import MENU_QUESTIONS, PHONE_NUMBER, caller_number, citizen_of_call, from_gather
from channels.voice.rating import CALL_AGENT, CALL_BOT, CallRater, ServedCall, agent_number, level_of
from channels.voice.speech_text import for_ear
from channels.voice.twilio_rest import TwilioRest
from conversations.events import Claimed
from conversations.handoff import Handoffs
from conversations.hub import Hub, Sent
from conversations.inbound import CitizenKey, Inbound, Keypress, Speech
from conversations.lifecycle import IllegalTransition, transition
from conversations.models import Author, Channel, Conversation, ConversationStatus
from conversations.replies import Reply
from core.bus import EventBus
from core.db import utcnow
from core.errors import ApiError
from core.logmask import mask_personal
from core.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "/voice/twilio"
_WANTS_PERSON = re.compile(r"人工|真人|接线员|坐席|客服人员|找个人|转接客服")
_WANTS_SMS = re.compile(r"短信|发给我|发到手机|发送")
_CALLBACK_DIGITS = re.compile(r"^\d{5,15}$")
MAX_SMS_LINKS = 3
# The caller is done (said as a whole answer to "还有什么可以帮您"): with a rater registered the call
# ends with the rating question instead of listening on.
_CLOSING = re.compile(
    r"^(?:好的?|嗯|行|那)?(?:没有了|没有|没事了|没事|不用了|就这些|就这样)?(?:谢谢(?:你|您)?)?(?:再见|拜拜)?$"
)
_DONE_WORD = re.compile(r"没有|没事|不用|就这|谢谢|再见|拜拜")
_PUNCTUATION = re.compile(r"[\s，,。.！!？?、~～]+")


def queue_name(conversation_id: str) -> str:
    """Each waiting caller has a queue of their own, so the agent who claimed the conversation can take
    exactly this caller (`<Dial><Queue>`) from any instance, without shared memory."""
    return f"hpf-{conversation_id}"


class PhoneLine:
    def __init__(
        self, settings: Settings, *, sessions: async_sessionmaker[AsyncSession], bus: EventBus, hub: Hub,
        handoffs: Handoffs,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._handoffs = handoffs
        self.hub = hub
        self.calls = CallStore(sessions)
        self.rest = TwilioRest(settings)
        self.speaker = twiml.Speaker(settings.twilio_voice)
        self.watcher = ClaimWatcher(bus, self._claimed)
        self.rater: CallRater | None = None

    def register_rater(self, rater: CallRater | None) -> None:
        """好差评: who asks for and records the rating at the end of a call (ratings/startup.py)."""
        self.rater = rater

    # -- addresses ----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """Where Twilio should send the next request: absolute under PUBLIC_BASE_URL (the address it
        signs), or relative to the current document when none is configured."""
        return self._settings.public_base_url.rstrip("/") + PREFIX + path

    def action(self, path: str, call: VoiceCall) -> str:
        return f"{self.url(path)}?s={call.step}"

    @property
    def hold_audio(self) -> str:
        return self._settings.twilio_hold_audio_url or self.url("/hold.wav")

    def rescue(self) -> VoiceResponse:
        """What a caller hears when a webhook fails: an apology and a way to a person."""
        return self.speaker.listen(self.url("/rescue"), twiml.apology(self._settings.hotline))

    # -- the call's start ---------------------------------------------------------------------

    async def inbound(self, params: dict[str, str]) -> str:
        call_sid = params["CallSid"]
        caller = caller_number(params.get("From", ""))
        conversation = await self._conversation_for(citizen_of_call(caller, call_sid), call_sid)
        call = VoiceCall(
            call_sid=call_sid, conversation_id=conversation.id, caller=caller[:32], called=params.get("To", "")[:32],
            step=0, stage=CallStage.BOT, answered_at=utcnow(), sms_links=[],
        )
        greeting = str(self.speaker.listen(self.action("/gather", call), twiml.GREETING))
        call.last_twiml = greeting
        if not await self.calls.create(call):
            log.info("inbound webhook for call %s repeated: not acted on", call_sid)
            return await self.calls.answer_of(call_sid, wait_s=5) or greeting
        log.info("call %s from %s answered (conversation %s)", call_sid, mask_personal(caller), conversation.id)
        return greeting

    async def _conversation_for(self, citizen: CitizenKey, call_sid: str) -> Conversation:
        """The caller's conversation for this call: one left open by an earlier call is closed first."""
        conversation = await self.hub.open_conversation(channel=Channel.PHONE, kind=citizen.kind, value=citizen.value)
        previous = await self.calls.by_conversation(conversation.id)
        if previous is None or previous.call_sid == call_sid or conversation.status != ConversationStatus.BOT:
            return conversation
        await self._close(conversation.id, frozenset({ConversationStatus.BOT}))
        return await self.hub.open_conversation(channel=Channel.PHONE, kind=citizen.kind, value=citizen.value)

    # -- listening ----------------------------------------------------------------------------

    async def on_gather(self, call: VoiceCall, params: dict[str, str]) -> VoiceResponse:
        # The call's step moved on when this request won it: the request was issued for the one before.
        inbound = from_gather(params, citizen=citizen_of_call(call.caller, call.call_sid), step=call.step - 1)
        if inbound is None:
            return await self._silence(call)
        if isinstance(inbound.detail, Keypress):
            return await self._key(call, inbound, inbound.detail.key)
        return await self._speech(call, inbound)

    async def _silence(self, call: VoiceCall) -> VoiceResponse:
        silences = call.silences + 1
        if silences == 1:
            await self.calls.update(call.call_sid, silences=silences)
            return self.speaker.listen(self.action("/gather", call), twiml.REPROMPT)
        if silences == 2:
            await self.calls.update(call.call_sid, silences=silences, stage=CallStage.MENU)
            return self.speaker.listen(self.action("/gather", call), twiml.MENU)
        await self.calls.update(call.call_sid, silences=silences, stage=CallStage.ENDED)
        return self.speaker.goodbye(twiml.GOODBYE_SILENCE)

    async def _key(self, call: VoiceCall, pressed: Inbound, key: str) -> VoiceResponse:
        await self.calls.update(call.call_sid, silences=0)
        if key == "0":
            return await self._to_person(call, said=None)
        if key == "1" and call.sms_links:
            return await self._send_sms(call)
        if key == "1":
            await self.calls.update(call.call_sid, stage=CallStage.BOT, unclear=0)
            return self.speaker.listen(self.action("/gather", call), twiml.MENU_POLICY)
        if key in MENU_QUESTIONS:
            return await self._ask_bot(call, pressed)
        await self.calls.update(call.call_sid, stage=CallStage.MENU)
        return self.speaker.listen(self.action("/gather", call), twiml.MENU)

    async def _speech(self, call: VoiceCall, said: Inbound) -> VoiceResponse:
        speech = said.text
        confidence = said.detail.confidence if isinstance(said.detail, Speech) else None
        minimum = self._settings.twilio_min_speech_confidence
        if confidence is not None and confidence < minimum:
            unclear = call.unclear + 1
            if unclear >= 2:
                await self.calls.update(call.call_sid, silences=0, unclear=0, stage=CallStage.MENU)
                return self.speaker.listen(self.action("/gather", call), twiml.UNCLEAR, twiml.MENU)
            await self.calls.update(call.call_sid, silences=0, unclear=unclear)
            return self.speaker.listen(self.action("/gather", call), twiml.UNCLEAR)
        if _WANTS_PERSON.search(speech):
            return await self._to_person(call, said=said)
        if call.sms_links and _WANTS_SMS.search(speech):
            return await self._send_sms(call)
        return await self._ask_bot(call, said, closing=self.rater is not None and _closing(speech))

    async def _ask_bot(self, call: VoiceCall, inbound: Inbound, *, closing: bool = False) -> VoiceResponse:
        conversation = await self._conversation(call.conversation_id)
        turn = await self.hub.receive(conversation, inbound)
        if await self._status(call.conversation_id) in (ConversationStatus.WAITING, ConversationStatus.HUMAN):
            # The bot itself handed the conversation to the pool (its handoff action): hold the caller.
            return await self._hold_in_queue(call, say=" ".join(reply.text for reply in turn.replies))
        spoken = [for_ear(reply, self._settings.voice_max_spoken_chars) for reply in turn.replies]
        links = [link for reply in spoken for link in reply.links][:MAX_SMS_LINKS]
        prompts = [reply.text for reply in spoken]
        if closing and (rating := await self._rating(call, *prompts)) is not None:
            return rating  # the caller said goodbye: the bot's words, then the rating question
        if links:
            prompts.append(twiml.SMS_OFFER)
        prompts.append(twiml.ASK_MORE)
        await self.calls.update(call.call_sid, stage=CallStage.BOT, silences=0, unclear=0, sms_links=links)
        return self.speaker.listen(self.action("/gather", call), *prompts)

    # -- SMS ------------------------------------------------------------------------------------

    async def _send_sms(self, call: VoiceCall) -> VoiceResponse:
        body = "【住房公积金】您咨询的办理链接：\n" + "\n".join(
            f"{link.get('title', '')} {self._absolute(link.get('url', ''))}" for link in call.sms_links
        )
        try:
            if not PHONE_NUMBER.match(call.caller):
                raise ValueError("the caller's number is unknown")
            await self.rest.send_sms(to=call.caller, from_=call.called, body=body)
            said = twiml.SMS_SENT
        except Exception as exc:
            log.warning("SMS to %s failed: %s", mask_personal(call.caller), type(exc).__name__)
            said = twiml.SMS_FAILED
        await self.calls.update(call.call_sid, sms_links=[])
        return self.speaker.listen(self.action("/gather", call), said, twiml.ASK_MORE)

    def _absolute(self, url: str) -> str:
        return self._settings.public_base_url.rstrip("/") + url if url.startswith("/") else url

    # -- agents ---------------------------------------------------------------------------------

    async def _to_person(self, call: VoiceCall, said: Inbound | None) -> VoiceResponse:
        await self.watcher.start(call.call_sid, call.conversation_id)
        try:
            outcome = await self._handoffs.request(
                conversation_id=call.conversation_id, reason="citizen_request",
                contact=call.caller or None, intent="ask_human",
            )
        except Exception:
            self.watcher.stop(call.call_sid)
            log.exception("handoff request failed for call %s", call.call_sid)
            return await self._leave_message(call, twiml.HANDOFF_FAILED, ticket_id=None)
        if outcome.outcome == "callback":
            self.watcher.stop(call.call_sid)
            return await self._leave_message(call, for_ear(outcome.message).text, ticket_id=outcome.ticket_id)
        if said:  # stored for the agent's transcript; the bot is paused now, so it stays silent
            conversation = await self._conversation(call.conversation_id)
            await self.hub.receive(conversation, said)
        await self.calls.update(
            call.call_sid, queue_position=outcome.position, estimated_wait_s=outcome.estimated_wait_s
        )
        # The pool's texts are written for a chat window ("排队期间可以继续输入…"): on the phone the
        # caller hears the position and wait in words of its own. An agent who already owns the
        # conversation takes the caller from its queue, or dials them on the claim.
        if outcome.outcome == "already_with_agent":
            say = twiml.CONNECTING
        else:
            say = twiml.TRANSFERRING + twiml.queue_update(outcome.position, outcome.estimated_wait_s)
        return await self._hold_in_queue(call, say=say)

    async def take_over(self, *, call_sid: str, conversation_id: str, caller: str, called: str) -> VoiceResponse:
        """An outbound call (a campaign's) whose person asked for an agent: from here on the line carries
        it as if they had called in and asked for a person (the queue, the claim, the callback)."""
        call = VoiceCall(call_sid=call_sid, conversation_id=conversation_id, caller=caller[:32], called=called[:32],
                         step=0, stage=CallStage.BOT, answered_at=utcnow(), sms_links=[])
        await self.calls.create(call)  # False for a replay: the call is already the line's
        taken = await self.calls.get(call_sid)
        if taken is None:
            raise LookupError(f"call {call_sid} could not be taken over")
        return await self._to_person(taken, said=None)

    async def _hold_in_queue(self, call: VoiceCall, say: str) -> VoiceResponse:
        await self.calls.update(call.call_sid, stage=CallStage.QUEUED, sms_links=[])
        if not self.watcher.watching(call.call_sid):
            await self.watcher.start(call.call_sid, call.conversation_id)
        return self.speaker.enqueue(
            queue_name(call.conversation_id),
            say=for_ear(say).text if say else twiml.CONNECTING,
            wait_url=self.url("/wait"),
            action=self.action("/dequeued", call),
        )

    async def _claimed(self, call_sid: str, event: Claimed) -> None:
        """An agent took the conversation: store who, then pull the caller out of the queue to them."""
        await self.calls.update(
            call_sid,
            stage=CallStage.AGENT,
            agent_id=str(event.agent_id)[:64],
            agent_name=event.agent_name[:100] or None,
            agent_phone=(event.agent_phone or "")[:32] or None,
        )
        try:
            await self.rest.redirect_call(call_sid, self.url("/connect"))
        except Exception as exc:  # the wait URL's next request leaves the queue instead
            log.warning("could not redirect call %s to its agent: %s", call_sid, type(exc).__name__)

    def connect(self, call: VoiceCall) -> VoiceResponse:
        return self.speaker.dial_agent(
            agent_id=call.agent_id, agent_name=call.agent_name, agent_phone=call.agent_phone,
            action=self.action("/after-agent", call),
        )

    async def on_wait(self, params: dict[str, str]) -> VoiceResponse:
        """Twilio asks again each time the hold audio ends: give the position, or leave the queue once
        an agent has claimed the call or the pool gave the conversation back to the bot."""
        call = await self.calls.get(params.get("CallSid", ""))
        if call is None:
            return self.speaker.hold("", self.hold_audio)
        if call.agent_id or call.agent_phone:
            return twiml.leave()
        if await self._status(call.conversation_id) in (ConversationStatus.BOT, ConversationStatus.CLOSED, None):
            return twiml.leave()
        position = call.queue_position or _int(params.get("QueuePosition"))
        return self.speaker.hold(twiml.queue_update(position, call.estimated_wait_s), self.hold_audio)

    async def on_dequeued(self, call: VoiceCall, params: dict[str, str]) -> VoiceResponse:
        result = params.get("QueueResult", "")
        if result == "hangup":
            return VoiceResponse()
        if result == "bridged":  # the agent's browser phone took the caller and has hung up
            return await self._rating(call) or await self._ended(call)
        if call.agent_id or call.agent_phone:
            return self.connect(call)
        return await self._leave_message(call, twiml.NO_AGENT_NOW, ticket_id=call.ticket_id)

    async def on_after_agent(self, call: VoiceCall, params: dict[str, str]) -> VoiceResponse:
        if params.get("DialCallStatus") == "completed":  # the agent hung up; the caller is still on the line
            if params.get("CallStatus") == "completed":  # …unless the caller hung up first: nobody to ask
                return await self._ended(call)
            return await self._rating(call) or await self._ended(call)
        return await self._leave_message(call, twiml.NO_AGENT_NOW, ticket_id=call.ticket_id)

    # -- the rating at the end (好差评) ---------------------------------------------------------

    def _served(self, call: VoiceCall) -> ServedCall:
        agent_id = agent_number(call.agent_id)
        return ServedCall(call_sid=call.call_sid, kind=CALL_AGENT if call.agent_id else CALL_BOT,
                          conversation_id=call.conversation_id, agent_id=agent_id)

    async def _rating(self, call: VoiceCall, *before: str) -> VoiceResponse | None:
        """The rating question if a rater is registered and this call was never asked; None otherwise."""
        if self.rater is None:
            return None
        try:
            asked = await self.rater.ask(self._served(call))
        except Exception:  # the rating is a courtesy: a failure must not keep the caller from a goodbye
            log.exception("call %s: could not ask for a rating", call.call_sid)
            return None
        if not asked:
            return None
        await self.calls.update(call.call_sid, stage=CallStage.RATING)
        return self.speaker.rating(self.action("/rate", call), *before)

    async def _ended(self, call: VoiceCall) -> VoiceResponse:
        await self.calls.update(call.call_sid, stage=CallStage.ENDED)
        return self.speaker.goodbye(twiml.GOODBYE)

    async def on_rate(self, call: VoiceCall, params: dict[str, str]) -> VoiceResponse:
        """The key pressed after the rating question: 1-5 is recorded once; anything else rates nothing."""
        await self.calls.update(call.call_sid, stage=CallStage.ENDED)
        level = level_of(params.get("Digits", ""))
        if level is None or self.rater is None:
            return self.speaker.goodbye(twiml.GOODBYE)
        try:
            await self.rater.rate(self._served(call), level)
        except Exception:
            log.exception("call %s: the rating could not be recorded", call.call_sid)
            return self.speaker.goodbye(twiml.GOODBYE)
        return self.speaker.goodbye(twiml.RATED)

    # -- callbacks ------------------------------------------------------------------------------

    async def _leave_message(self, call: VoiceCall, said: str, ticket_id: int | None) -> VoiceResponse:
        await self.calls.update(call.call_sid, stage=CallStage.MESSAGE, ticket_id=ticket_id, sms_links=[])
        return self.speaker.record(said, twiml.LEAVE_MESSAGE, action=self.action("/recorded", call))

    async def on_recorded(self, call: VoiceCall, params: dict[str, str]) -> VoiceResponse:
        url = params.get("RecordingUrl", "")
        if url.startswith("https://") and (_int(params.get("RecordingDuration")) or 0) > 0:
            await self.calls.update(call.call_sid, recording_url=url[:500])
            call.recording_url = url[:500]
        if params.get("CallStatus") == "completed":  # hung up after the message: call back the caller
            await self._file_callback(call, call.caller)
            return VoiceResponse()
        await self.calls.update(call.call_sid, stage=CallStage.CALLBACK_NUMBER, unclear=0)
        return self.speaker.keys(self.action("/callback-number", call), twiml.callback_number_prompt(call.caller))

    async def on_callback_number(self, call: VoiceCall, params: dict[str, str]) -> VoiceResponse:
        digits = params.get("Digits", "").strip().rstrip("#")
        if digits in ("", "1"):
            number = call.caller
        elif _CALLBACK_DIGITS.match(digits):
            number = digits
        elif call.unclear < 1:
            await self.calls.update(call.call_sid, unclear=call.unclear + 1)
            prompt = "号码格式不正确。" + twiml.callback_number_prompt(call.caller)
            return self.speaker.keys(self.action("/callback-number", call), prompt)
        else:
            number = call.caller
        await self._file_callback(call, number)
        return self.speaker.goodbye(twiml.CALLBACK_DONE)

    async def _file_callback(self, call: VoiceCall, number: str) -> None:
        """The message and number go on the conversation, which the callback ticket points to."""
        await self.calls.update(call.call_sid, callback_number=number[:32] or None, stage=CallStage.ENDED)
        parts = [f"电话留言待回拨：回拨号码 {number or '未提供'}"]
        if call.recording_url:
            parts.append(f"留言录音 {call.recording_url}")
        if call.ticket_id:
            parts.append(f"回拨单 #{call.ticket_id}")
        meta = {"callback": {"ticket_id": call.ticket_id, "number": number, "recording_url": call.recording_url,
                             "call_sid": call.call_sid}}
        await self.hub.send(call.conversation_id, Channel.PHONE, Author.SYSTEM, Reply(text="；".join(parts), meta=meta))

    # -- rescue, agent leg, status --------------------------------------------------------------

    async def on_rescue(self, params: dict[str, str]) -> VoiceResponse:
        call = await self.calls.get(params.get("CallSid", ""))
        if call is not None and params.get("Digits", "").startswith("0"):
            return await self._to_person(call, said=None)
        return self.speaker.goodbye(twiml.GOODBYE)

    async def on_agent_leg(self, params: dict[str, str]) -> VoiceResponse:
        """TwiML for the console's browser phone: take the caller of the claimed conversation."""
        conversation_id = params.get("ConversationId", "")
        if await self._status(conversation_id) != ConversationStatus.HUMAN:
            return self.speaker.goodbye(twiml.CALL_ENDED)
        return twiml.dial_queue(queue_name(conversation_id))

    async def on_status(self, params: dict[str, str]) -> bool:
        """Store a status callback; at the end of the call stop its watch and close its conversation."""
        call_sid, status = params.get("CallSid", ""), params.get("CallStatus", "")
        if not call_sid or not status:
            raise ApiError(422, "invalid_request", "缺少通话编号或通话状态。")
        call = await self.calls.get(call_sid)
        if call is None:
            raise ApiError(404, "unknown_call", "通话不存在。")
        stored = await self.calls.record_status(
            call_sid, status[:20], _int(params.get("SequenceNumber")), _int(params.get("CallDuration"))
        )
        if stored and status in ("completed", "busy", "failed", "no-answer", "canceled"):
            self.watcher.stop(call_sid)
            await self.calls.update(call_sid, stage=CallStage.ENDED)
            await self._close(call.conversation_id, frozenset({ConversationStatus.BOT, ConversationStatus.WAITING}))
        return stored

    async def push(self, sent: Sent) -> None:
        """The hub's pusher for phone conversations: queue position updates reach the wait URL."""
        queue = sent.reply.meta.get("queue")
        if not isinstance(queue, dict):
            return
        call = await self.calls.by_conversation(sent.message.conversation_id)
        if call is not None and call.stage == CallStage.QUEUED:
            await self.calls.update(
                call.call_sid, queue_position=_int(queue.get("position")),
                estimated_wait_s=_int(queue.get("estimated_wait_s")),
            )

    # -- conversation helpers -------------------------------------------------------------------

    async def _conversation(self, conversation_id: str) -> Conversation:
        async with self._sessions() as session:
            return await session.get_one(Conversation, conversation_id)

    async def _status(self, conversation_id: str) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(select(Conversation.status).where(Conversation.id == conversation_id))

    async def _close(self, conversation_id: str, expected: frozenset[ConversationStatus]) -> None:
        async with self._sessions() as session:
            try:
                await transition(session, conversation_id, ConversationStatus.CLOSED, expected=expected)
                await session.commit()
            except IllegalTransition as exc:  # an agent still owns it: they close it when done
                log.info("conversation left open at the end of a call: %s", exc)


def _closing(speech: str) -> bool:
    words = _PUNCTUATION.sub("", speech)
    # A bare "好的" or "嗯" acknowledges an answer; it does not end the call.
    return _CLOSING.fullmatch(words) is not None and _DONE_WORD.search(words) is not None


def _int(raw: str | float | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None
