"""Speech recognition engines, chosen by VOICE_ASR_ENGINE, loading a model from the path the centre
supplies in VOICE_ASR_MODEL_PATH. Nothing is downloaded: without a model, voice input is off and the
citizen page says so (the text chat is unaffected)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from core.settings import Settings

SAMPLE_RATE = 16000


class AsrUnavailable(RuntimeError):
    pass


class SpeechRecognizer(Protocol):
    name: str

    def transcribe(self, pcm: bytes) -> str:
        """Text of one utterance (16-bit mono PCM at 16 kHz). Blocking: run it in a thread."""
        ...


class VoskRecognizer:
    """Vosk (Kaldi) with a Mandarin model directory, e.g. vosk-model-cn-0.22 or vosk-model-small-cn-0.22."""

    name = "vosk"

    def __init__(self, model_path: Path) -> None:
        if not model_path.is_dir():
            raise AsrUnavailable(f"VOICE_ASR_MODEL_PATH {model_path} is not a directory")
        import vosk

        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model_path))
        except Exception as exc:  # vosk raises a bare Exception for a folder that is not a model
            raise AsrUnavailable(f"{model_path} is not a Vosk model: {exc}") from exc
        self._vosk = vosk

    def transcribe(self, pcm: bytes) -> str:
        recognizer = self._vosk.KaldiRecognizer(self._model, SAMPLE_RATE)
        recognizer.AcceptWaveform(pcm)
        text = json.loads(recognizer.FinalResult()).get("text", "")
        return text.replace(" ", "")  # Mandarin models put spaces between words


def make_recognizer(settings: Settings) -> SpeechRecognizer | None:
    """The configured engine, or None when no model is configured."""
    if settings.voice_asr_model_path is None:
        return None
    if settings.voice_asr_engine == "vosk":
        return VoskRecognizer(settings.voice_asr_model_path)
    raise AsrUnavailable(f"unknown VOICE_ASR_ENGINE {settings.voice_asr_engine!r}: use vosk")
