"""In-browser voice: two aiortc peers on this machine. The test peer speaks Mandarin synthesised by
espeak-ng; the service detects the end of the utterance, passes it to the recognition engine (a test
engine here: no Mandarin model can be had on this machine), gets the bot's answer through the hub
(Rasa played by a fake) and speaks it back on the same call."""
from __future__ import annotations

import asyncio
import fractions
import sqlite3
import time
from dataclasses import dataclass, field

import av
import httpx
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from channels.voice.webrtc import VoiceCalls
from conversations.hub import Hub
from conversations.models import Author
from core.services import services_of
from core.settings import Settings
from fakes.rasa import FakeRasa
from tests.channels.voice.voice_helpers import QUESTION, RATE, ScriptedRecognizer, Service, espeak
from tests.credentials import APP_API_KEY, APP_HEADERS

FRAME = 960  # 20 ms


class Microphone(MediaStreamTrack):
    """Plays each speech in turn (after a short silence, `gap_s` apart), then silence; remembers when
    each one started and ended."""

    kind = "audio"

    def __init__(self, *speeches: np.ndarray, lead_s: float = 0.6, gap_s: float = 2.0) -> None:
        super().__init__()
        parts, self._marks = [np.zeros(int(lead_s * RATE), dtype="<i2")], []
        for speech in speeches:
            start = sum(map(len, parts))
            parts.append(speech)
            self._marks.append((start, start + len(speech)))
            parts.append(np.zeros(int(gap_s * RATE), dtype="<i2"))
        self._samples = np.concatenate(parts)
        self._sent = 0
        self._start: float | None = None
        self.started: list[float] = []
        self.ended: list[float] = []

    @property
    def speech_ended_at(self) -> float | None:
        return self.ended[0] if self.ended else None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        await asyncio.sleep(max(0.0, self._start + self._sent / RATE - time.time()))
        chunk = np.zeros(FRAME, dtype="<i2")
        piece = self._samples[self._sent:self._sent + FRAME]
        chunk[:len(piece)] = piece
        for start, end in self._marks:
            if self._sent <= start < self._sent + FRAME:
                self.started.append(time.monotonic())
            if self._sent < end <= self._sent + FRAME:
                self.ended.append(time.monotonic())
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self._sent, fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame


@dataclass
class Ear:
    """What the test peer hears: the time and loudness of every frame the service sends."""

    frames: list[tuple[float, float]] = field(default_factory=list)

    async def listen(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                samples = frame.to_ndarray().astype(np.float64)
                self.frames.append((time.monotonic(), float(np.sqrt(np.mean(samples**2)))))
        except MediaStreamError:
            pass

    def voiced_after(self, moment: float) -> list[float]:
        return [t for t, rms in self.frames if t > moment and rms > 300]

    def voiced_between(self, start: float, end: float) -> list[float]:
        return [t for t in self.voiced_after(start) if t < end]


@pytest.fixture(scope="module")
def service(loopback_ice, tmp_path_factory, voice_index_dir):
    with FakeRasa() as rasa:
        settings = Settings(data_dir=tmp_path_factory.mktemp("webrtc"), index_dir=voice_index_dir, rasa_url=rasa.url,
                            app_api_key=APP_API_KEY)
        with Service(settings) as running:
            running.rasa = rasa
            yield running


@pytest.fixture
def recognizer(service):
    engine = ScriptedRecognizer()
    voice = services_of(service.app).get(VoiceCalls)
    voice.recognizer = engine
    yield engine
    voice.recognizer = None


async def visitor_token(http: httpx.AsyncClient) -> str:
    return (await http.post("/api/v1/web/session", json={})).json()["visitor_token"]


async def call(http: httpx.AsyncClient, microphone: Microphone, ear: Ear):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    events: list[str] = []
    listening: list[asyncio.Task] = []
    pc.addTrack(microphone)
    channel = pc.createDataChannel("events")
    channel.on("message", events.append)
    pc.on("track", lambda track: listening.append(asyncio.ensure_future(ear.listen(track))))
    await pc.setLocalDescription(await pc.createOffer())
    token = await visitor_token(http)
    response = await http.post(
        "/api/v1/voice/web/offer", json={"visitor_token": token, "sdp": pc.localDescription.sdp, "type": "offer"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type=answer["type"]))
    return pc, answer, events, listening


async def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


async def test_a_spoken_question_is_answered_aloud_on_the_same_call(service, recognizer):
    speech = espeak(QUESTION)
    microphone, ear = Microphone(speech), Ear()
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        pc, answer, events, listening = await call(http, microphone, ear)
        try:
            assert await wait_for(lambda: microphone.speech_ended_at and len(ear.voiced_after(microphone.speech_ended_at)) > 25, 20)
        finally:
            await pc.close()
            await asyncio.gather(*listening, return_exceptions=True)
    # The detector passed one utterance of about the length spoken (plus pre-roll and hangover).
    assert len(recognizer.heard) == 1
    heard_s = len(recognizer.heard[0]) / 2 / 16000
    assert len(speech) / RATE - 0.2 < heard_s < len(speech) / RATE + 1.0
    # The answer went through the hub and came back as audio, after the question ended.
    voiced = ear.voiced_after(microphone.speech_ended_at)
    assert voiced[0] - microphone.speech_ended_at < 3.0
    assert service.rasa.received[-1]["message"] == QUESTION
    assert stored(service, answer["conversation_id"]) == [(Author.CITIZEN, QUESTION), (Author.BOT, f"收到：{QUESTION}")]
    assert any('"heard"' in e for e in events) and any('"answer"' in e for e in events)
    assert await wait_for(lambda: not services_of(service.app).get(VoiceCalls).sessions, 10)


async def test_a_peer_that_hangs_up_mid_answer_leaves_nothing_behind(service, recognizer):
    recognizer.text = "请详细介绍一下公积金贷款的申请条件、所需材料、办理流程和办理时限" * 2
    microphone, ear = Microphone(espeak("请详细介绍一下")), Ear()
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        pc, answer, _, listening = await call(http, microphone, ear)
        session = services_of(service.app).get(VoiceCalls).sessions[answer["call_id"]]
        assert await wait_for(lambda: microphone.speech_ended_at and ear.voiced_after(microphone.speech_ended_at), 20)
        assert session.speech.playing  # still talking
        await pc.close()
        await asyncio.gather(*listening, return_exceptions=True)
    assert await wait_for(lambda: answer["call_id"] not in services_of(service.app).get(VoiceCalls).sessions, 15)
    assert await wait_for(lambda: session.tasks == 0, 5)
    assert session.pc.connectionState == "closed" and session.speech.readyState == "ended"


async def test_offers_that_are_not_sdp_are_refused_and_leave_nothing(service, recognizer):
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        token = await visitor_token(http)
        for sdp in ("hello", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\ngarbage", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"):
            response = await http.post("/api/v1/voice/web/offer", json={"visitor_token": token, "sdp": sdp, "type": "offer"})
            assert response.status_code == 422 and response.json()["code"] == "invalid_sdp", sdp
        response = await http.post("/api/v1/voice/web/offer", json={"visitor_token": token, "sdp": "v=0", "type": "answer"})
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"
        response = await http.post("/api/v1/voice/web/offer", json={"visitor_token": "forged.token", "sdp": "v=0", "type": "offer"})
        assert response.status_code == 401
        assert (await http.delete("/api/v1/voice/calls/nope")).status_code == 404
        # The app's entry point: the same checks, for one of the app's users.
        response = await http.post("/api/v1/voice/app/offer", json={"user_id": "app-7", "sdp": "hello", "type": "offer"},
                                   headers=APP_HEADERS)
        assert response.status_code == 422 and response.json()["code"] == "invalid_sdp"
        response = await http.post("/api/v1/voice/app/offer", json={"user_id": "bad id", "sdp": "v=0", "type": "offer"},
                                   headers=APP_HEADERS)
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    assert not services_of(service.app).get(VoiceCalls).sessions


async def test_without_a_recognition_model_voice_input_says_it_is_not_set_up(service):
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        status = (await http.get("/api/v1/voice/status")).json()
        assert status == {"speech_input": False, "message": status["message"]} and "尚未开通" in status["message"]
        token = await visitor_token(http)
        response = await http.post("/api/v1/voice/web/offer", json={"visitor_token": token, "sdp": "v=0", "type": "offer"})
        assert response.status_code == 503 and response.json()["code"] == "voice_not_set_up"
        # Text chat is unaffected.
        reply = await http.post("/api/v1/app/messages", json={"user_id": "voice-off", "text": "你好"}, headers=APP_HEADERS)
        assert reply.status_code == 200 and reply.json()["replies"]


def stored(service: Service, conversation_id: str) -> list[tuple[str, str]]:
    database = services_of(service.app).get(Settings).database_url.split("///", 1)[1]
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT author, text FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
        ).fetchall()
    return [tuple(row) for row in rows]


async def test_a_turn_that_fails_in_the_service_is_apologised_for_aloud(service, recognizer, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services_of(service.app).get(Hub), "receive", broken)
    microphone, ear = Microphone(espeak(QUESTION)), Ear()
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        pc, answer, events, listening = await call(http, microphone, ear)
        try:
            assert await wait_for(lambda: microphone.speech_ended_at and len(ear.voiced_after(microphone.speech_ended_at)) > 25, 20)
            assert any('"error"' in e for e in events)
            assert answer["call_id"] in services_of(service.app).get(VoiceCalls).sessions  # the call goes on
        finally:
            await pc.close()
            await asyncio.gather(*listening, return_exceptions=True)


async def test_speaking_over_the_answer_stops_it(service, recognizer):
    long_answer = "请详细介绍一下公积金贷款的申请条件、所需材料、办理流程和办理时限，" * 3
    recognizer.texts = [long_answer, QUESTION]
    microphone = Microphone(espeak("请详细介绍一下"), espeak(QUESTION), gap_s=2.5)
    ear = Ear()
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        pc, _, _, listening = await call(http, microphone, ear)
        try:
            assert await wait_for(lambda: len(microphone.ended) == 2, 30)
            interrupted_from = microphone.started[1] + 0.6  # minimum speech + a frame or two
            # The first answer was playing when the citizen spoke again…
            assert ear.voiced_between(microphone.ended[0], microphone.started[1])
            # …and went quiet while they spoke (it would have run for many more seconds otherwise).
            assert ear.voiced_between(interrupted_from, microphone.ended[1]) == []
            # The second question is answered in turn.
            assert await wait_for(lambda: ear.voiced_after(microphone.ended[1]), 10)
        finally:
            await pc.close()
            await asyncio.gather(*listening, return_exceptions=True)
    assert len(recognizer.heard) == 2
