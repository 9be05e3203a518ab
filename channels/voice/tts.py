"""Speech synthesis engines, chosen by VOICE_TTS_ENGINE. The default, espeak-ng, ships with the
install (Debian package) and runs offline. Its `cmn-latn-pinyin` voice reads Chinese characters with
their tones; the plain `cmn` voice on Debian's build reads characters with English letter rules."""
from __future__ import annotations

import asyncio
import io
import shutil
import wave
from typing import Protocol

from core.settings import Settings


class TtsUnavailable(RuntimeError):
    pass


class SpeechSynthesizer(Protocol):
    name: str

    async def synthesize(self, text: str) -> tuple[bytes, int]:
        """16-bit mono PCM and its sample rate."""
        ...


class EspeakNg:
    name = "espeak-ng"

    def __init__(self, voice: str, rate: int, binary: str = "espeak-ng") -> None:
        path = shutil.which(binary)
        if path is None:
            raise TtsUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
        self._command = [path, "-v", voice, "-s", str(rate), "--stdout"]

    async def synthesize(self, text: str) -> tuple[bytes, int]:
        # The text goes in on stdin: an answer starting with "-" must not be read as an option.
        process = await asyncio.create_subprocess_exec(
            *self._command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            wav, _ = await process.communicate(text.encode("utf-8"))
        finally:
            if process.returncode is None:  # cancelled (the caller hung up): do not leave it running
                process.kill()
                await process.wait()
        if process.returncode != 0 or not wav:
            raise TtsUnavailable(f"espeak-ng exited with {process.returncode}")
        with wave.open(io.BytesIO(wav)) as audio:
            return audio.readframes(audio.getnframes()), audio.getframerate()


def make_synthesizer(settings: Settings) -> SpeechSynthesizer:
    if settings.voice_tts_engine == "espeak-ng":
        return EspeakNg(settings.voice_tts_voice, settings.voice_tts_rate)
    raise TtsUnavailable(f"unknown VOICE_TTS_ENGINE {settings.voice_tts_engine!r}: use espeak-ng")
