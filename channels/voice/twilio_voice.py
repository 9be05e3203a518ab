"""The phone line's webhooks: `POST /voice/twilio/inbound` answers a call; the others under
`/voice/twilio/` carry it on. Each one checks Twilio's signature first (403 for anything else, with
nothing done), and a failure inside one still answers the caller: an apology and a way to a person.
"""
from __future__ import annotations

import io
import logging
import wave
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from twilio.twiml.voice_response import VoiceResponse

from channels.voice import twiml
from channels.voice.models import VoiceCall
from channels.voice.phone_line import PREFIX, PhoneLine
from channels.voice.twilio_security import twilio_params
from channels.voice.twiml import TwiML
from core.deps import ServicesDep
from core.errors import INVALID_REQUEST, error_responses

log = logging.getLogger(__name__)
router = APIRouter(prefix=PREFIX, tags=["phone"])

Params = Annotated[dict[str, str], Depends(twilio_params)]
Step = Annotated[int, Query(alias="s", ge=0, description="the call's step this action URL was issued for")]
Handler = Callable[[VoiceCall, dict[str, str]], Awaitable[VoiceResponse]]


# Every webhook answers TwiML, even after a failure inside; only a request that is not Twilio's (or a
# line not set up) gets an error instead.
SIGNED = {403: ("bad_signature",), 503: ("phone_not_configured",)}
WEBHOOK_ERRORS = error_responses(SIGNED, route_answers_json=False)
STEPPED_ERRORS = error_responses(SIGNED, INVALID_REQUEST, route_answers_json=False)  # `s`, the step, is a number


def get_phone_line(services: ServicesDep) -> PhoneLine:
    return services.get(PhoneLine)


LineDep = Annotated[PhoneLine, Depends(get_phone_line)]


def _xml(body: VoiceResponse | str) -> Response:
    return Response(str(body), media_type="application/xml")


async def _answer(line: PhoneLine, work: Callable[[], Awaitable[VoiceResponse | str]]) -> Response:
    try:
        return _xml(await work())
    except Exception:
        log.exception("phone webhook failed")
        return _xml(line.rescue())


async def _stepped(line: PhoneLine, params: dict[str, str], step: int, handler: Handler) -> Response:
    """Run `handler` only if this request wins the call's step; a replay gets the first answer."""
    call_sid = params.get("CallSid", "")
    if not call_sid:
        return _xml(line.speaker.goodbye(twiml.CALL_ENDED))

    async def work() -> VoiceResponse | str:
        if not await line.calls.claim(call_sid, step):
            call = await line.calls.get(call_sid)
            if call is None:  # a call this service has no record of: start it over as a new one
                return twiml.redirect(line.url("/inbound"))
            log.info("call %s: step %s already handled, request not acted on", call_sid, step)
            first = await line.calls.answer_of(call_sid, wait_s=5) if call.step == step + 1 else call.last_twiml
            return first or line.speaker.goodbye(twiml.CALL_ENDED)
        call = await line.calls.get(call_sid)
        if call is None:  # won the step of a call whose record is gone: start it over, as above
            return twiml.redirect(line.url("/inbound"))
        response = await handler(call, params)
        await line.calls.update(call_sid, last_twiml=str(response))
        return response

    return await _answer(line, work)


@router.post("/inbound", response_class=TwiML, responses=WEBHOOK_ERRORS, summary="Answer an incoming call")
async def inbound(line: LineDep, params: Params) -> Response:
    if not params.get("CallSid"):
        return _xml(line.speaker.goodbye(twiml.CALL_ENDED))
    return await _answer(line, lambda: line.inbound(params))


@router.post("/gather", response_class=TwiML, responses=STEPPED_ERRORS, summary="A spoken question, a key, or silence")
async def gather(line: LineDep, params: Params, step: Step) -> Response:
    return await _stepped(line, params, step, line.on_gather)


@router.post("/wait", response_class=TwiML, responses=WEBHOOK_ERRORS,
             summary="Hold audio and position updates while queued")
async def wait(line: LineDep, params: Params) -> Response:
    return await _answer(line, lambda: line.on_wait(params))


@router.post("/dequeued", response_class=TwiML, responses=STEPPED_ERRORS, summary="The caller left the queue")
async def dequeued(line: LineDep, params: Params, step: Step) -> Response:
    return await _stepped(line, params, step, line.on_dequeued)


@router.post("/connect", response_class=TwiML, responses=WEBHOOK_ERRORS, summary="Connect a claimed call to its agent")
async def connect(line: LineDep, params: Params) -> Response:

    async def work() -> VoiceResponse:
        call = await line.calls.get(params.get("CallSid", ""))
        return line.connect(call) if call is not None else line.speaker.goodbye(twiml.CALL_ENDED)

    return await _answer(line, work)


@router.post("/after-agent", response_class=TwiML, responses=STEPPED_ERRORS, summary="The agent's leg ended")
async def after_agent(line: LineDep, params: Params, step: Step) -> Response:
    return await _stepped(line, params, step, line.on_after_agent)


@router.post("/rate", response_class=TwiML, responses=STEPPED_ERRORS,
             summary="The key pressed after the rating question (好差评: 5 非常满意 … 1 非常不满意)")
async def rate(line: LineDep, params: Params, step: Step) -> Response:
    return await _stepped(line, params, step, line.on_rate)


@router.post("/recorded", response_class=TwiML, responses=STEPPED_ERRORS,
             summary="A message for a callback was recorded")
async def recorded(line: LineDep, params: Params, step: Step) -> Response:
    return await _stepped(line, params, step, line.on_recorded)


@router.post("/callback-number", response_class=TwiML, responses=STEPPED_ERRORS, summary="The number to call back")
async def callback_number(line: LineDep, params: Params, step: Step) -> Response:
    return await _stepped(line, params, step, line.on_callback_number)


@router.post("/rescue", response_class=TwiML, responses=WEBHOOK_ERRORS, summary="After a failure: 0 for a person")
async def rescue(line: LineDep, params: Params) -> Response:
    return await _answer(line, lambda: line.on_rescue(params))


@router.post("/agent", response_class=TwiML, responses=WEBHOOK_ERRORS,
             summary="The console's browser phone takes a claimed caller")
async def agent_leg(line: LineDep, params: Params) -> Response:
    return await _answer(line, lambda: line.on_agent_leg(params))


@router.post("/status", status_code=204, response_class=Response,
             summary="Call status callback (answered, completed, duration)",
             responses=error_responses(SIGNED, INVALID_REQUEST, {404: ("unknown_call",)}))
async def status(line: LineDep, params: Params) -> Response:
    await line.on_status(params)
    return Response(status_code=204)


@router.get("/hold.wav", include_in_schema=False, response_class=Response)
async def hold_audio() -> Response:
    return Response(_chime(), media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"})


@lru_cache(maxsize=1)
def _chime(rate: int = 8000, seconds: int = 20) -> bytes:
    """Soft two-note chimes every four seconds: hold audio that needs no file shipped or fetched."""
    t = np.arange(int(rate * 0.9)) / rate
    note = np.exp(-4 * t) * (np.sin(2 * np.pi * 523.25 * t) + 0.6 * np.sin(2 * np.pi * 659.25 * t))
    samples = np.zeros(rate * seconds)
    for start in range(0, seconds, 4):
        begin = start * rate
        samples[begin:begin + len(note)] += note
    pcm = (samples / np.abs(samples).max() * 0.25 * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()
