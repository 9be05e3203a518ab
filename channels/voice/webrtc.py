"""In-browser voice over WebRTC (aiortc): signalling over HTTP, and the per-call audio pipeline.

The browser (or the app) POSTs its SDP offer and gets the answer as JSON; no STUN server is used
(iceServers=[]), so on a local network the host candidates connect directly. On the call, each
utterance is cut by the end-of-utterance detector, recognised, answered by the hub (channel
"webrtc"), rewritten for the ear, synthesised sentence by sentence and played back on the same call.
Speaking over the answer stops it (barge-in). Every call's tasks end with it.
"""
from __future__ import annotations

import asyncio
import fractions
import json
import logging
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import av
import numpy as np
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AUDIO_PTIME, MediaStreamError, MediaStreamTrack
from fastapi import APIRouter, Depends, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from channels.app_api import CITIZEN_ERRORS, USER_ID, CredentialDep, citizen_of
from channels.voice.asr import SAMPLE_RATE, AsrUnavailable, SpeechRecognizer, make_recognizer
from channels.voice.speech_text import for_ear
from channels.voice.tts import SpeechSynthesizer, TtsUnavailable, make_synthesizer
from channels.voice.twiml import UNCLEAR
from channels.voice.vad import EndOfUtterance, Utterance, VadConfig
from channels.web import TOKEN_PURPOSE
from conversations.hub import Hub
from conversations.inbound import CitizenKey, Inbound, Voice
from conversations.models import Channel, Conversation
from conversations.text import clean_text
from core.deps import ServicesDep, SettingsDep
from core.errors import INVALID_REQUEST, ApiError, error_responses
from core.settings import Settings
from core.signing import unsign

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/voice", tags=["voice"])

OUT_RATE = 48000
OUT_SAMPLES = int(AUDIO_PTIME * OUT_RATE)
BAD_SDP = "无法建立语音通话：请求中的会话描述（SDP）无效。"
SORRY = "抱歉，系统有点忙，请稍后再说一遍，或者改用文字提问。"
NOT_SET_UP = "语音输入尚未开通：本中心还没有配置语音识别模型。您可以继续用文字提问。"
SETUP_TIMEOUT_S = 10


@dataclass
class TurnTiming:
    """Seconds on the service's clock for one spoken turn, from the end of the citizen's speech."""

    speech_end: float
    detected: float
    recognized: float = 0.0
    answered: float = 0.0
    synthesized: float = 0.0
    first_audio: float = 0.0
    text: str = ""

    def breakdown(self) -> dict[str, float]:
        return {
            "detection_s": self.detected - self.speech_end,
            "recognition_s": self.recognized - self.detected,
            "bot_s": self.answered - self.recognized,
            "synthesis_s": self.synthesized - self.answered,
            "playout_s": self.first_audio - self.synthesized,
            "total_s": self.first_audio - self.speech_end,
        }


class SpeechTrack(MediaStreamTrack):
    """The service's voice on the call: queued speech at real-time pace, silence in between."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self._marks: list[tuple[int, asyncio.Future[float]]] = []  # (byte offset, resolved when played)
        self._start: float | None = None
        self._timestamp = 0

    @property
    def playing(self) -> bool:
        return bool(self._buffer)

    def play(self, pcm: bytes) -> asyncio.Future[float]:
        """Queue 48 kHz mono PCM; the future resolves (with the clock time) when its first frame is sent."""
        started = asyncio.get_running_loop().create_future()
        if not pcm:
            started.set_result(time.monotonic())
            return started
        self._marks.append((len(self._buffer), started))
        self._buffer.extend(pcm)
        return started

    def interrupt(self) -> None:
        self._buffer.clear()
        for _, started in self._marks:
            if not started.done():
                started.cancel()
        self._marks.clear()

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += OUT_SAMPLES
            await asyncio.sleep(max(0.0, self._start + self._timestamp / OUT_RATE - time.time()))
        chunk = bytes(self._buffer[:OUT_SAMPLES * 2])
        del self._buffer[:OUT_SAMPLES * 2]
        now = time.monotonic()
        remaining = []
        for offset, started in self._marks:
            if offset < len(chunk):
                if not started.done():
                    started.set_result(now)
            else:
                remaining.append((offset - len(chunk), started))
        self._marks = remaining
        samples = np.zeros(OUT_SAMPLES, dtype="<i2")
        samples[:len(chunk) // 2] = np.frombuffer(chunk, dtype="<i2")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = OUT_RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, OUT_RATE)
        return frame


def _first_clause_apart(sentences: list[str], longer_than: int = 12) -> list[str]:
    """The first sentence's first clause on its own (quicker to synthesise), then the rest."""
    if not sentences:
        return []
    head, comma, tail = sentences[0].partition("，")
    if not comma or len(sentences[0]) <= longer_than or not tail:
        return sentences
    return [head + "，", tail, *sentences[1:]]


def resample(pcm: bytes, rate: int, target: int) -> bytes:
    if rate == target or not pcm:
        return pcm
    resampler = av.AudioResampler(format="s16", layout="mono", rate=target)
    frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    out = [f.to_ndarray().tobytes() for f in resampler.resample(frame)]
    out += [f.to_ndarray().tobytes() for f in resampler.resample(None)]
    return b"".join(out)


def from_transcript(transcript: str, *, citizen: CitizenKey, engine: str) -> Inbound | None:
    """What the recogniser made of one utterance → the one inbound message; None when it heard no
    words. A transcript no message may be (over the length limit) is an ApiError."""
    try:
        text = clean_text(transcript)
    except ApiError as error:
        if error.code == "empty_message":
            return None
        raise
    return Inbound(channel=Channel.WEBRTC, citizen=citizen, text=text, detail=Voice(engine))


class VoiceSession:
    """One WebRTC call with one citizen."""

    def __init__(self, calls: VoiceCalls, conversation: Conversation, citizen: CitizenKey) -> None:
        self.id = uuid.uuid4().hex
        self.conversation = conversation
        self.citizen = citizen
        self._calls = calls
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.speech = SpeechTrack()
        self.timings: list[TurnTiming] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._turn_lock = asyncio.Lock()
        self._channel: RTCDataChannel | None = None
        self._closed = asyncio.Event()

    @property
    def tasks(self) -> int:
        return len(self._tasks)

    async def start(self, offer_sdp: str) -> str:
        pc = self.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self._spawn(self._listen(track))

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            self._channel = channel

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self._spawn(self.close())

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        pc.addTrack(self.speech)
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _event(self, **event: object) -> None:
        """Tell the page what is happening (listening, heard, answer); best effort."""
        channel = self._channel
        if channel is not None and channel.readyState == "open":
            try:
                channel.send(json.dumps(event, ensure_ascii=False))
            except Exception:  # the channel closed under us: the call is ending anyway
                pass

    async def _listen(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        detector = EndOfUtterance(self._calls.vad, SAMPLE_RATE)
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):  # an audio track sends audio frames only
                    continue
                now = time.monotonic()
                for mono in resampler.resample(frame):
                    utterance = detector.feed(mono.to_ndarray().tobytes(), now)
                    if utterance is not None:
                        self._spawn(self._turn(utterance))
                if detector.speaking and self.speech.playing:
                    self.speech.interrupt()  # barge-in: the citizen talks over the answer
        except MediaStreamError:
            pass  # the citizen's side of the call ended
        finally:
            if not self._closed.is_set():
                self._spawn(self.close())

    async def _turn(self, utterance: Utterance) -> None:
        async with self._turn_lock:
            try:
                await self._answer(utterance)
            except Exception:
                log.exception("voice turn failed on call %s", self.id)
                self._event(type="error", text=SORRY)
                await self._speak([SORRY], TurnTiming(0.0, 0.0))

    async def _answer(self, utterance: Utterance) -> None:
        timing = TurnTiming(speech_end=utterance.speech_end_at, detected=utterance.detected_at)
        recognizer, _ = self._calls.engines()
        transcript = await run_in_threadpool(recognizer.transcribe, utterance.pcm)
        timing.recognized = time.monotonic()
        inbound = from_transcript(transcript, citizen=self.citizen, engine=recognizer.name)
        timing.text = inbound.text if inbound is not None else ""
        if inbound is None:
            self._event(type="unheard")
            await self._speak([UNCLEAR], timing)
            return
        self._event(type="heard", text=inbound.text)
        turn = await self._calls.hub.receive(self.conversation, inbound)
        timing.answered = time.monotonic()
        sentences: list[str] = []
        for reply in turn.replies:
            self._event(type="answer", text=reply.text)
            sentences += for_ear(reply).sentences
        await self._speak(sentences, timing)
        self.timings.append(timing)

    async def _speak(self, sentences: list[str], timing: TurnTiming) -> None:
        """Synthesise piece by piece: the first clause plays while the rest is still being made, and
        nothing else is started until its first frame is out (spawning espeak-ng costs the loop time)."""
        _, synthesizer = self._calls.engines()
        for index, piece in enumerate(_first_clause_apart(sentences)):
            pcm, rate = await synthesizer.synthesize(piece)
            started = self.speech.play(resample(pcm, rate, OUT_RATE))
            if index == 0:
                timing.synthesized = time.monotonic()
                try:
                    timing.first_audio = await asyncio.wait_for(started, timeout=5)
                except (asyncio.CancelledError, TimeoutError):
                    return  # interrupted by the citizen, or the call ended first

    async def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        self._calls.forget(self.id)
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self.speech.interrupt()
        self.speech.stop()
        await self.pc.close()
        log.info("voice call %s closed", self.id)


class VoiceCalls:
    """The voice calls of this service instance, and the engines they share."""

    def __init__(self, settings: Settings, hub: Hub) -> None:
        self._settings = settings
        self.hub = hub
        self.sessions: dict[str, VoiceSession] = {}
        self.vad = VadConfig(
            threshold_db=settings.voice_vad_threshold_db,
            min_speech_ms=settings.voice_vad_min_speech_ms,
            hangover_ms=settings.voice_vad_hangover_ms,
            max_utterance_s=settings.voice_vad_max_utterance_s,
        )
        self.recognizer: SpeechRecognizer | None = None
        self.synthesizer: SpeechSynthesizer | None = None
        self.problem = NOT_SET_UP

    async def load_engines(self) -> None:
        """Load the configured engines; a missing or broken one turns voice input off, with a reason."""
        try:
            self.synthesizer = make_synthesizer(self._settings)
        except TtsUnavailable as exc:
            log.error("speech synthesis is off: %s", exc)
            self.problem = "语音播报暂不可用，您可以继续用文字提问。"
            return
        try:
            self.recognizer = await run_in_threadpool(make_recognizer, self._settings)
        except AsrUnavailable as exc:
            log.error("speech recognition is off: %s", exc)

    @property
    def ready(self) -> bool:
        return self.recognizer is not None and self.synthesizer is not None

    def engines(self) -> tuple[SpeechRecognizer, SpeechSynthesizer]:
        if self.recognizer is None or self.synthesizer is None:
            raise ApiError(503, "voice_not_set_up", self.problem)
        return self.recognizer, self.synthesizer

    async def open(self, conversation: Conversation, citizen: CitizenKey, offer_sdp: str) -> tuple[str, str]:
        if not self.ready:
            raise ApiError(503, "voice_not_set_up", self.problem)
        if len(self.sessions) >= self._settings.voice_max_calls:
            raise ApiError(503, "voice_busy", "语音通话线路繁忙，请稍后再试，或用文字提问。")
        session = VoiceSession(self, conversation, citizen)
        self.sessions[session.id] = session
        try:
            answer = await asyncio.wait_for(session.start(offer_sdp), SETUP_TIMEOUT_S)
        except Exception as exc:
            await session.close()
            log.info("refused a WebRTC offer: %s", type(exc).__name__)
            raise ApiError(422, "invalid_sdp", BAD_SDP) from exc
        return session.id, answer

    def forget(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)

    async def hang_up(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError(404, "unknown_call", "通话不存在或已结束。")
        await session.close()

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in list(self.sessions.values())), return_exceptions=True)


def _looks_like_sdp(text: str) -> bool:
    return text.startswith("v=0") and "\nm=audio " in text.replace("\r\n", "\n")


# -- signalling ---------------------------------------------------------------------------------------

class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sdp: str = Field(max_length=20000)
    type: Literal["offer"]


class WebOfferIn(OfferIn):
    visitor_token: str = Field(max_length=200, description="the chat page's signed visitor token")


class AppOfferIn(OfferIn):
    user_id: str | None = Field(
        None, pattern=USER_ID, description="the app's stable id of the citizen (backend calls; a token names it)"
    )


class AnswerOut(BaseModel):
    call_id: str
    conversation_id: str
    sdp: str
    type: Literal["answer"] = "answer"


class VoiceStatus(BaseModel):
    speech_input: bool
    message: str


def get_voice_calls(services: ServicesDep) -> VoiceCalls:
    return services.get(VoiceCalls)


VoiceCallsDep = Annotated[VoiceCalls, Depends(get_voice_calls)]


# Opening a call: the offer's SDP, and the recogniser and synthesiser it needs.
OFFER_ERRORS = (INVALID_REQUEST, {422: ("invalid_sdp",), 503: ("voice_not_set_up", "voice_busy")})


@router.get("/status", response_model=VoiceStatus, responses=error_responses())
async def status(calls: VoiceCallsDep) -> VoiceStatus:
    """Whether voice input is set up here (the talk button shows the message when it is not)."""
    return VoiceStatus(speech_input=calls.ready, message="" if calls.ready else calls.problem)


@router.post("/web/offer", response_model=AnswerOut,
             responses=error_responses(*OFFER_ERRORS, {401: ("invalid_token",)}))
async def web_offer(body: WebOfferIn, calls: VoiceCallsDep, settings: SettingsDep) -> AnswerOut:
    """The chat page's talk button: the same citizen as the page's visitor token."""
    visitor = unsign(settings.session_secret.get_secret_value(), TOKEN_PURPOSE, body.visitor_token)
    if visitor is None:
        raise ApiError(401, "invalid_token", "会话凭证无效，请刷新页面重新开始。")
    return await _open(calls, "web", visitor, body.sdp)


@router.post("/app/offer", response_model=AnswerOut, responses=error_responses(*OFFER_ERRORS, CITIZEN_ERRORS))
async def app_offer(body: AppOfferIn, calls: VoiceCallsDep, credential: CredentialDep) -> AnswerOut:
    """The app's voice call for one of its users (the same credentials as the app's messages)."""
    return await _open(calls, "app", citizen_of(credential, body.user_id), body.sdp)


async def _open(calls: VoiceCalls, kind: str, value: str, sdp: str) -> AnswerOut:
    if not calls.ready:  # say so before creating anything
        raise ApiError(503, "voice_not_set_up", calls.problem)
    if not _looks_like_sdp(sdp):
        raise ApiError(422, "invalid_sdp", BAD_SDP)
    citizen = CitizenKey(kind, value)
    conversation = await calls.hub.open_conversation(channel=Channel.WEBRTC, kind=kind, value=value)
    call_id, answer = await calls.open(conversation, citizen, sdp)
    return AnswerOut(call_id=call_id, conversation_id=conversation.id, sdp=answer)


@router.delete("/calls/{call_id}", status_code=204, response_class=Response,
               responses=error_responses(INVALID_REQUEST, {404: ("unknown_call",)}))
async def hang_up(call_id: Annotated[str, Path(max_length=64)], calls: VoiceCallsDep) -> Response:
    await calls.hang_up(call_id)
    return Response(status_code=204)
