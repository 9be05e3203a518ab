"""An outbound call from answer to hang-up: what the person hears and what each Twilio callback does.

The person hears the campaign's message in Mandarin inside a `<Gather>`, so they can interrupt: 1 or
"再说一遍" repeats it, 0 or "转人工" asks for a person (queued to the agents as inbound callers are),
9 or "不要再打了" puts the number on the suppression list, any other question goes to the same Rasa
assistant through the hub. A machine (asynchronous detection, after the greeting's end) gets the
voicemail text after the beep, or a hang-up, as the campaign says.

Replays: each in-call action URL carries the attempt's step (`s=`, inside Twilio's signature); a
webhook acts only if it wins the conditional UPDATE that moves the step on, and a replay gets the
first answer's TwiML. Status and detection callbacks are stored once per status.
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.twiml.voice_response import VoiceResponse

from callout import messages, suppressions
from callout.context import Callout
from callout.dialer import FINAL_CALL_STATUSES, Dialer
from callout.models import Attempt, CallEvent, Campaign, MachineAction, Outcome, Recipient
from channels.voice import twiml
from channels.voice.phone_inbound import speech_confidence, spoken_words
from channels.voice.phone_line import PhoneLine
from channels.voice.rating import OUTBOUND, ServedCall, level_of
from channels.voice.speech_text import for_ear
from conversations.hub import Hub
from conversations.inbound import CitizenKey, Inbound, Speech
from conversations.models import Author, Channel, ConversationStatus
from conversations.replies import Reply
from core.db import rowcount
from core.errors import ApiError
from core.metrics import CALLS
from ratings.context import Ratings
from ratings.phone import PhoneRatings

log = logging.getLogger(__name__)

PREFIX = "/callout/twilio"
MAX_REPEATS = 3
MACHINE = ("machine_end_beep", "machine_end_silence", "machine_end_other", "fax")
_REPEAT = re.compile(r"再说|再讲|重复|没听清|再听|再播")
_PERSON = re.compile(r"人工|真人|接线员|坐席|客服人员|转接")
_OPT_OUT = re.compile(r"不要再打|别再打|不要打|别打了|不再接|不想接|退订|拒绝|不需要.{0,4}电话|以后别")

MENU_HINT = "重听请按一或说“再说一遍”，人工服务请按零，如果不希望再接到此类来电，请按九。有问题也可以直接问我。"
ASK_MORE = "请问还有什么可以帮您？没有的话可以直接挂机。"
OPTED_OUT = "好的，我们已为您登记，今后不再拨打此类电话。感谢您的接听，再见。"
GOODBYE = "感谢您的接听，再见。"
TRANSFER_FAILED = "抱歉，人工服务暂时无法转接，您可以稍后拨打服务热线。感谢您的接听，再见。"
TRANSFERRING = "正在为您转接人工客服，请稍候。"
HINTS = "再说一遍,重复,人工,转人工,不要再打了,退订,公积金,还款,贷款,提取"


class OutboundCalls:
    def __init__(self, callout: Callout, hub: Hub | None = None, phone_line: PhoneLine | None = None,
                 ratings: Ratings | None = None) -> None:
        self._callout = callout
        self._rater = PhoneRatings(ratings) if ratings is not None else None
        self._sessions = callout.sessions
        self._hub = hub
        self._phone_line = phone_line
        self._dialer = Dialer(callout)
        self.speaker = twiml.Speaker(callout.settings.twilio_voice)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self._sessions

    def url(self, path: str, attempt: Attempt, *, step: bool = True) -> str:
        base = f"{self._callout.settings.public_base_url.rstrip('/')}{PREFIX}/{path}?a={attempt.id}"
        return f"{base}&s={attempt.step}" if step else base

    async def attempt(self, attempt_id: int, call_sid: str) -> Attempt:
        """The attempt a callback names, checked against the call it reports on."""
        async with self._sessions() as session:
            attempt = await session.get(Attempt, attempt_id)
            if attempt is None:
                raise ApiError(404, "unknown_attempt", "外呼记录不存在。")
            if attempt.call_sid and call_sid and attempt.call_sid != call_sid:
                raise ApiError(409, "call_mismatch", "通话编号与外呼记录不符。")
            if not attempt.call_sid and call_sid:  # the callback came before the dialer stored the sid
                await session.execute(update(Attempt).where(Attempt.id == attempt_id, Attempt.call_sid.is_(None))
                                      .values(call_sid=call_sid[:64]))
                await session.commit()
                attempt.call_sid = call_sid[:64]
            return attempt

    # -- provider callbacks -----------------------------------------------------------------------------

    async def on_status(self, attempt: Attempt, params: dict[str, str]) -> None:
        status = params.get("CallStatus", "")[:20]
        if not status:
            raise ApiError(422, "invalid_request", "缺少通话状态。")
        duration = _int(params.get("CallDuration"))
        if not await self._record(attempt.id, "status", status, duration):
            return
        now = self._callout.clock.now()
        values: dict = {}
        if status not in FINAL_CALL_STATUSES:
            values["status"] = status
        if status == "in-progress":
            await self._set_once(attempt.id, Attempt.answered_at, now)
        if values:
            await self._update(attempt.id, **values)
        if status in FINAL_CALL_STATUSES:
            CALLS.labels("outbound", status).inc()
            await self._dialer.settle(attempt.id, status, duration, _int(params.get("ErrorCode")))
            if attempt.marked == Outcome.TRANSFERRED and self._phone_line is not None:
                await self._phone_line.on_status(params)  # the line's own end: its watch, the conversation

    async def on_amd(self, attempt: Attempt, params: dict[str, str]) -> None:
        """Machine detection's verdict, after the greeting ended: a machine gets the voicemail or a hang-up."""
        answered_by = params.get("AnsweredBy", "unknown")[:30]
        if not await self._record(attempt.id, "amd", answered_by, None):
            return
        await self._update(attempt.id, answered_by=answered_by)
        if not answered_by.startswith(MACHINE) or not attempt.call_sid:
            return
        campaign = await self._campaign(attempt.campaign_id)
        provider = self._callout.provider
        if provider is None:
            return
        try:
            if campaign.machine_action == MachineAction.VOICEMAIL:
                await provider.redirect(attempt.call_sid, self.url("voicemail", attempt, step=False))
            else:
                await provider.hang_up(attempt.call_sid)
        except Exception as exc:  # the call goes on with the message; its status still settles it
            log.warning("attempt %s: could not act on the answering machine: %s", attempt.id, exc)

    async def _record(self, attempt_id: int, kind: str, status: str, duration: int | None) -> bool:
        async with self._sessions() as session:
            session.add(CallEvent(attempt_id=attempt_id, kind=kind, status=status, duration_s=duration,
                                  created_at=self._callout.clock.now()))
            try:
                await session.commit()
                return True
            except IntegrityError:  # Twilio retried a callback: stored once, acted on once
                await session.rollback()
                return False

    # -- what the person hears ---------------------------------------------------------------------------

    async def claim_step(self, attempt_id: int, step: int) -> bool:
        async with self._sessions() as session:
            result = await session.execute(
                update(Attempt).where(Attempt.id == attempt_id, Attempt.step == step)
                .values(step=step + 1, last_twiml=None).execution_options(synchronize_session=False)
            )
            await session.commit()
            return rowcount(result) == 1

    async def remember(self, attempt_id: int, twiml_text: str) -> None:
        """The step's answer, for a replay of the same request."""
        await self._update(attempt_id, last_twiml=twiml_text)

    async def answer(self, attempt: Attempt) -> VoiceResponse:
        """The call was picked up: the message, with the ways to go on."""
        text, _ = await self._texts(attempt)
        await self._update(attempt.id, heard=attempt.heard + 1)
        await self._note(attempt, text)
        return self._message(attempt, text)

    def _message(self, attempt: Attempt, text: str) -> VoiceResponse:
        response = self.speaker.listen(self.url("gather", attempt), for_ear(text).text, MENU_HINT, timeout=5)
        self.speaker.say(response, GOODBYE)
        response.hangup()
        return response

    async def voicemail(self, attempt: Attempt) -> VoiceResponse:
        _, voicemail = await self._texts(attempt)
        return self.speaker.goodbye(for_ear(voicemail).text)

    async def on_gather(self, attempt: Attempt, params: dict[str, str]) -> VoiceResponse:
        digits = params.get("Digits", "").strip()[:1]
        words = spoken_words(params.get("SpeechResult", ""))
        if digits == "9" or (words and _OPT_OUT.search(words)):
            return await self._opt_out(attempt, words or "按键9")
        if digits == "0" or (words and _PERSON.search(words)):
            return await self._to_person(attempt, words)
        if digits == "1" or (words and _REPEAT.search(words)):
            if attempt.heard >= MAX_REPEATS:
                return await self._end(attempt)
            text, _ = await self._texts(attempt)
            await self._update(attempt.id, heard=attempt.heard + 1)
            return self._message(attempt, text)
        if words:
            return await self._ask(attempt, words, params)
        return await self._end(attempt)

    # -- the rating at the end (好差评) ----------------------------------------------------------------

    async def _served(self, attempt: Attempt) -> ServedCall:
        campaign = await self._campaign(attempt.campaign_id)
        return ServedCall(call_sid=attempt.call_sid or "", kind=OUTBOUND, conversation_id=attempt.conversation_id,
                          business=campaign.business)

    async def _end(self, attempt: Attempt) -> VoiceResponse:
        """The person heard the message and has nothing more: once per call, the rating question (keys
        1-5) before the goodbye; without the ratings, or asked before, just the goodbye."""
        if self._rater is None or not attempt.call_sid:
            return self.speaker.goodbye(GOODBYE)
        try:
            asked = await self._rater.ask(await self._served(attempt))
        except Exception:  # a courtesy: a failure here must not keep the person from the goodbye
            log.exception("attempt %s: could not ask for a rating", attempt.id)
            asked = False
        if not asked:
            return self.speaker.goodbye(GOODBYE)
        return self.speaker.rating(self.url("rate", attempt), goodbye=GOODBYE)

    async def on_rate(self, attempt: Attempt, params: dict[str, str]) -> VoiceResponse:
        """The key after the rating question: 1-5 is recorded once (a replay changes nothing); others rate nothing."""
        level = level_of(params.get("Digits", ""))
        if level is None or self._rater is None or not attempt.call_sid:
            return self.speaker.goodbye(GOODBYE)
        await self._rater.rate(await self._served(attempt), level)
        return self.speaker.goodbye(twiml.RATED)

    async def _opt_out(self, attempt: Attempt, said: str) -> VoiceResponse:
        recipient = await self._recipient(attempt.recipient_id)
        await suppressions.add(self._sessions, recipient.phone, source="call", reason=said[:200],
                               evidence={"attempt_id": attempt.id, "call_sid": attempt.call_sid, "said": said[:200],
                                         "campaign_id": attempt.campaign_id})
        await self._update(attempt.id, marked=Outcome.OPTED_OUT)
        log.info("attempt %s: the person asked not to be called again", attempt.id)
        return self.speaker.goodbye(OPTED_OUT)

    async def _to_person(self, attempt: Attempt, words: str) -> VoiceResponse:
        """Queued to the agents like an inbound caller: the phone line takes the call over."""
        conversation_id = await self._conversation(attempt)
        if self._phone_line is None or conversation_id is None or not attempt.call_sid:
            return self.speaker.goodbye(TRANSFER_FAILED)
        recipient = await self._recipient(attempt.recipient_id)
        try:
            response = await self._phone_line.take_over(
                call_sid=attempt.call_sid, conversation_id=conversation_id, caller=recipient.phone,
                called=self._callout.settings.twilio_caller_id,
            )
        except Exception:
            log.exception("attempt %s: handing the call to the agents failed", attempt.id)
            return self.speaker.goodbye(TRANSFER_FAILED)
        await self._update(attempt.id, marked=Outcome.TRANSFERRED)
        return response

    async def _ask(self, attempt: Attempt, words: str, params: dict[str, str]) -> VoiceResponse:
        conversation_id = await self._conversation(attempt)
        if self._hub is None or conversation_id is None:
            return self.speaker.listen(self.url("gather", attempt), MENU_HINT)
        recipient = await self._recipient(attempt.recipient_id)
        inbound = Inbound(channel=Channel.PHONE, citizen=CitizenKey("phone", recipient.phone), text=words,
                          client_msg_id=f"callout:{attempt.id}:{attempt.step - 1}",
                          detail=Speech(confidence=speech_confidence(params.get("Confidence"))))
        conversation = await self._hub.conversation_for(inbound)
        turn = await self._hub.receive(conversation, inbound)
        spoken = [for_ear(reply, self._callout.settings.voice_max_spoken_chars).text for reply in turn.replies]
        return self.speaker.listen(self.url("gather", attempt), *spoken, ASK_MORE)

    # -- helpers ------------------------------------------------------------------------------------

    async def _texts(self, attempt: Attempt) -> tuple[str, str]:
        campaign = await self._campaign(attempt.campaign_id)
        recipient = await self._recipient(attempt.recipient_id)
        values = {**recipient.variables, "name": recipient.name}
        message = messages.parse(campaign.message).render(values)
        voicemail = messages.parse(campaign.voicemail_message or campaign.message).render(values)
        return message, voicemail

    async def _conversation(self, attempt: Attempt) -> str | None:
        """The person's phone conversation, where the message, their questions and answers are kept
        for the agents (opened on first use, once per attempt)."""
        if attempt.conversation_id or self._hub is None:
            return attempt.conversation_id
        recipient = await self._recipient(attempt.recipient_id)
        conversation = await self._hub.open_conversation(channel=Channel.PHONE, kind="phone", value=recipient.phone)
        if conversation.status == ConversationStatus.CLOSED:
            return None
        await self._update(attempt.id, conversation_id=conversation.id)
        attempt.conversation_id = conversation.id
        return conversation.id

    async def _note(self, attempt: Attempt, text: str) -> None:
        """The message the person heard goes on their conversation, for whoever serves them next."""
        conversation_id = await self._conversation(attempt)
        if conversation_id is None or self._hub is None:
            return
        reply = Reply(text=text, meta={"campaign": {"id": attempt.campaign_id, "attempt_id": attempt.id}})
        await self._hub.send(conversation_id, Channel.PHONE, Author.SYSTEM, reply)

    async def _campaign(self, campaign_id: int) -> Campaign:
        async with self._sessions() as session:
            return await session.get_one(Campaign, campaign_id)

    async def _recipient(self, recipient_id: int) -> Recipient:
        async with self._sessions() as session:
            return await session.get_one(Recipient, recipient_id)

    async def _update(self, attempt_id: int, **values: object) -> None:
        async with self._sessions() as session:
            await session.execute(update(Attempt).where(Attempt.id == attempt_id).values(**values)
                                  .execution_options(synchronize_session=False))
            await session.commit()

    async def _set_once(self, attempt_id: int, column, value: object) -> None:
        async with self._sessions() as session:
            await session.execute(update(Attempt).where(Attempt.id == attempt_id, column.is_(None))
                                  .values({column.key: value}).execution_options(synchronize_session=False))
            await session.commit()


def _int(raw: str | float | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None

