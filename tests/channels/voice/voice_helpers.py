"""Helpers for the in-browser voice tests: the service under uvicorn in a thread, a scripted
recognition engine (tests only), and Mandarin speech from espeak-ng."""
from __future__ import annotations

import io
import subprocess
import threading
import time
import wave
from dataclasses import dataclass, field

import av
import numpy as np
import uvicorn

from core.settings import Settings
from server.app import create_app
from server.stack import free_port

QUESTION = "公积金贷款利率是多少"
RATE = 48000


def espeak(text: str) -> np.ndarray:
    """Mandarin speech at 48 kHz, as a citizen's microphone would send it."""

    wav = subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "--stdout", text], capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as audio:
        pcm, rate = audio.readframes(audio.getnframes()), audio.getframerate()
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    frame = av.AudioFrame.from_ndarray(np.frombuffer(pcm, dtype="<i2").reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    out = [f.to_ndarray().ravel() for f in resampler.resample(frame)] + [f.to_ndarray().ravel() for f in resampler.resample(None)]
    return np.concatenate(out)


@dataclass
class ScriptedRecognizer:
    """Stands in for a Mandarin model (tests only): returns `texts` in turn, then `text`; records what
    it was given."""

    text: str = QUESTION
    name: str = "test"
    texts: list[str] = field(default_factory=list)
    heard: list[bytes] = field(default_factory=list)

    def transcribe(self, pcm: bytes) -> str:
        self.heard.append(pcm)
        return self.texts.pop(0) if self.texts else self.text


class Service:
    """The real app under uvicorn in a thread, so the test's own loop runs the other peer freely."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.port = free_port()
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Service:
        self._thread.start()
        deadline = time.monotonic() + 120
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self._server.started
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
