"""End-of-utterance detection: energy per 20 ms frame against a threshold, with a hangover.

A frame is speech when it is louder than VOICE_VAD_THRESHOLD_DB and clearly above the noise floor
(measured in the call's first moments and between utterances, so a humming room does not count as
talking; a "sentence" that runs to the maximum without a pause is taken as the room). Speech starts after
`min_speech_ms` of speech frames (a click or a cough does not), and ends once `hangover_ms` of
quiet follow it: the pause between words is shorter than that, the pause after a question longer.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

FRAME_MS = 20
PRE_ROLL_MS = 200      # kept from before the start, so the first syllable is not clipped
CALIBRATION_MS = 300   # the first moments of a call measure the room; nobody speaks that fast
NOISE_MARGIN_DB = 12.0  # above the measured noise floor


@dataclass(frozen=True)
class VadConfig:
    threshold_db: float = -45.0
    min_speech_ms: int = 150
    hangover_ms: int = 350
    max_utterance_s: float = 15.0


@dataclass
class Utterance:
    pcm: bytes            # 16-bit mono at the detector's sample rate
    started_at: float     # clock time of the first speech frame
    speech_end_at: float  # clock time the last speech frame arrived
    detected_at: float    # clock time the end was decided (speech_end_at + the hangover)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / 16000


def frame_db(samples: np.ndarray) -> float:
    if samples.size == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2)))
    return 20 * math.log10(max(rms, 1e-9) / 32768)


class EndOfUtterance:
    """Feed 16-bit mono PCM as it arrives; get an `Utterance` back when one has ended."""

    def __init__(self, config: VadConfig, sample_rate: int = 16000) -> None:
        self.config = config
        self.sample_rate = sample_rate
        self._frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self._pending = b""
        self._pre_roll: deque[bytes] = deque(maxlen=PRE_ROLL_MS // FRAME_MS)
        self._noise_db = config.threshold_db - NOISE_MARGIN_DB
        self._calibration: list[float] = []
        self._levels: list[float] = []
        self._voiced_ms = 0
        self._quiet_ms = 0
        self._frames: list[bytes] = []
        self._in_speech = False
        self._started_at = 0.0
        self._last_voiced_at = 0.0

    @property
    def speaking(self) -> bool:
        """The caller is talking now (used to stop the bot's own playback: barge-in)."""
        return self._in_speech and self._quiet_ms == 0

    def feed(self, pcm: bytes, now: float) -> Utterance | None:
        self._pending += pcm
        ended = None
        while len(self._pending) >= self._frame_bytes:
            frame, self._pending = self._pending[:self._frame_bytes], self._pending[self._frame_bytes:]
            ended = self._frame(frame, now) or ended
        return ended

    def _is_speech(self, db: float) -> bool:
        return db > self.config.threshold_db and db > self._noise_db + NOISE_MARGIN_DB

    def _frame(self, frame: bytes, now: float) -> Utterance | None:
        db = frame_db(np.frombuffer(frame, dtype="<i2"))
        if len(self._calibration) < CALIBRATION_MS // FRAME_MS:
            self._calibration.append(db)
            self._noise_db = max(self._noise_db, float(np.mean(self._calibration)))
            self._pre_roll.append(frame)
            return None
        voiced = self._is_speech(db)
        if not self._in_speech:
            self._idle(frame, voiced, db, now)
            return None
        self._frames.append(frame)
        self._levels.append(db)
        if voiced:
            self._quiet_ms = 0
            self._last_voiced_at = now
        else:
            self._quiet_ms += FRAME_MS
        too_long = len(self._frames) * FRAME_MS >= self.config.max_utterance_s * 1000
        if too_long:
            self._noise_db = float(np.median(self._levels))
        if self._quiet_ms >= self.config.hangover_ms or too_long:
            return self._finish(now)
        return None

    def _idle(self, frame: bytes, voiced: bool, db: float, now: float) -> None:
        if not voiced:
            # Between utterances: follow the room's noise slowly, and forget a too-short burst.
            self._noise_db = 0.95 * self._noise_db + 0.05 * db
            if self._voiced_ms:
                self._voiced_ms = 0
            self._pre_roll.append(frame)
            return None
        if not self._voiced_ms:
            self._started_at = now
        self._voiced_ms += FRAME_MS
        self._pre_roll.append(frame)
        if self._voiced_ms >= self.config.min_speech_ms:
            self._in_speech = True
            self._frames = list(self._pre_roll)
            self._pre_roll.clear()
            self._quiet_ms = 0
            self._last_voiced_at = now
        return None

    def _finish(self, now: float) -> Utterance:
        utterance = Utterance(b"".join(self._frames), self._started_at, self._last_voiced_at, now)
        self._frames = []
        self._levels = []
        self._in_speech = False
        self._voiced_ms = 0
        self._quiet_ms = 0
        return utterance
