"""Twilio's callbacks for outbound calls, under /callout/twilio/: status events, machine detection, the
call's dialogue (answer, gather) and the voicemail. Each checks Twilio's signature first (403, nothing
done, otherwise); a failure inside the dialogue still answers the person, never an HTTP error."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from callout import delivery, phones, suppressions
from callout.calls import GOODBYE, PREFIX, OutboundCalls
from callout.context import Callout
from callout.models import Attempt
from channels.voice.phone_line import PhoneLine
from channels.voice.twilio_security import twilio_params
from channels.voice.twiml import TwiML
from conversations.hub import Hub
from core.deps import ServicesDep
from core.errors import INVALID_REQUEST, error_responses
from ratings.context import Ratings

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, tags=["outbound calls: Twilio"])

Params = Annotated[dict[str, str], Depends(twilio_params)]
AttemptId = Annotated[int, Query(alias="a", ge=1, description="the attempt this call is")]
Step = Annotated[int, Query(alias="s", ge=0, description="the call's step this action URL was issued for")]
# Only a request that is not Twilio's, or names no attempt of ours, gets an error instead of an answer.
REFUSED = (INVALID_REQUEST, {
    403: ("bad_signature",), 404: ("unknown_attempt",), 409: ("call_mismatch",), 503: ("phone_not_configured",),
})


def get_calls(services: ServicesDep) -> OutboundCalls:
    return OutboundCalls(services.get(Callout), services.find(Hub), services.find(PhoneLine), services.find(Ratings))


Calls = Annotated[OutboundCalls, Depends(get_calls)]


def _xml(body: VoiceResponse | str) -> Response:
    return Response(str(body), media_type="application/xml")


async def _stepped(calls: OutboundCalls, attempt: Attempt, step: int,
                   work: Callable[[Attempt], Awaitable[VoiceResponse]]) -> Response:
    """Act only if this request wins the step; a replay gets the first answer."""
    if not await calls.claim_step(attempt.id, step):
        latest = await calls.attempt(attempt.id, "")
        log.info("attempt %s: step %s already handled, request not acted on", attempt.id, step)
        return _xml(latest.last_twiml or calls.speaker.goodbye(GOODBYE))
    attempt = await calls.attempt(attempt.id, "")
    try:
        response = await work(attempt)
    except Exception:
        log.exception("outbound call webhook failed (attempt %s)", attempt.id)
        response = calls.speaker.goodbye(GOODBYE)
    await calls.remember(attempt.id, str(response))
    return _xml(response)


@router.post("/status", status_code=204, response_class=Response,
             summary="Call status callback (every event; the final one settles)", responses=error_responses(*REFUSED))
async def status(params: Params, attempt_id: AttemptId, calls: Calls) -> Response:
    attempt = await calls.attempt(attempt_id, params.get("CallSid", ""))
    await calls.on_status(attempt, params)
    return Response(status_code=204)


@router.post("/amd", status_code=204, response_class=Response,
             summary="Answering-machine detection's verdict (asynchronous)", responses=error_responses(*REFUSED))
async def amd(params: Params, attempt_id: AttemptId, calls: Calls) -> Response:
    attempt = await calls.attempt(attempt_id, params.get("CallSid", ""))
    await calls.on_amd(attempt, params)
    return Response(status_code=204)


@router.post("/answer", response_class=TwiML, summary="The person picked up: the message",
             responses=error_responses(*REFUSED, route_answers_json=False))
async def answer(params: Params, attempt_id: AttemptId, step: Step, calls: Calls) -> Response:
    attempt = await calls.attempt(attempt_id, params.get("CallSid", ""))
    return await _stepped(calls, attempt, step, calls.answer)


@router.post("/gather", response_class=TwiML,
             summary="A key or words after the message: repeat, a person, opt out, a question",
             responses=error_responses(*REFUSED, route_answers_json=False))
async def gather(params: Params, attempt_id: AttemptId, step: Step, calls: Calls) -> Response:
    attempt = await calls.attempt(attempt_id, params.get("CallSid", ""))
    return await _stepped(calls, attempt, step, lambda current: calls.on_gather(current, params))


@router.post("/rate", response_class=TwiML,
             summary="The key pressed after the rating question (好差评: 5 非常满意 … 1 非常不满意)",
             responses=error_responses(*REFUSED, route_answers_json=False))
async def rate(params: Params, attempt_id: AttemptId, step: Step, calls: Calls) -> Response:
    attempt = await calls.attempt(attempt_id, params.get("CallSid", ""))
    return await _stepped(calls, attempt, step, lambda current: calls.on_rate(current, params))


@router.post("/voicemail", response_class=TwiML, summary="A machine answered: the voicemail text after the beep",
             responses=error_responses(*REFUSED, route_answers_json=False))
async def voicemail(params: Params, attempt_id: AttemptId, calls: Calls) -> Response:
    attempt = await calls.attempt(attempt_id, params.get("CallSid", ""))
    return _xml(await calls.voicemail(attempt))


@router.post("/sms-status", status_code=204, response_class=Response,
             summary="A campaign SMS's delivery status (MessageStatus: sent, delivered, undelivered, failed)",
             responses=error_responses(*REFUSED))
async def sms_status(params: Params, attempt_id: AttemptId, calls: Calls, services: ServicesDep) -> Response:
    attempt = await calls.attempt(attempt_id, params.get("MessageSid", ""))
    await delivery.on_message_status(services.get(Callout), attempt.id, params.get("MessageStatus", ""),
                                     _error_code(params.get("ErrorCode")))
    return Response(status_code=204)


def _error_code(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 10 else None


@router.post("/sms", response_class=TwiML, summary="An SMS to our number: 退订 puts the sender on the suppression list",
             responses=error_responses({403: ("bad_signature",), 503: ("phone_not_configured",)},
                                       route_answers_json=False))
async def sms(params: Params, calls: Calls) -> Response:
    """Set as the messaging webhook of TWILIO_CALLER_ID. Other messages are acknowledged and kept nowhere:
    the centre's SMS number is not a chat channel."""
    body = params.get("Body", "")
    reply = MessagingResponse()
    if suppressions.is_opt_out(body):
        try:
            phone = phones.normalise(params.get("From", ""))
        except phones.BadNumber:
            return _xml(reply)
        await suppressions.add(calls.sessions, phone, source="sms", reason=body[:200],
                               evidence={"message_sid": params.get("MessageSid", "")[:64], "body": body[:200]})
        reply.message("【住房公积金】您已退订，今后不再向您拨打外呼电话或发送通知短信。")
    return _xml(reply)
