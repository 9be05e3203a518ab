"""The voice channel's small parts: answers rewritten for the ear, end-of-utterance detection, and the
engines' set-up (espeak-ng's Mandarin voice, the recogniser's model path)."""
from __future__ import annotations

import asyncio
import io
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from channels.voice.asr import AsrUnavailable, VoskRecognizer, make_recognizer
from channels.voice.speech_text import chinese_number, for_ear, speak_numbers
from channels.voice.tts import EspeakNg, TtsUnavailable, make_synthesizer
from channels.voice.vad import FRAME_MS, EndOfUtterance, VadConfig
from conversations.replies import Reply
from core.settings import Settings

# -- speech text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "spoken"),
    [(0, "零"), (10, "十"), (15, "十五"), (101, "一百零一"), (1005, "一千零五"), (1200, "一千二百"),
     (20000, "两万"), (120000, "十二万"), (600000, "六十万"), (100010000, "一亿零一万"), (230000, "二十三万")],
)
def test_cardinal_numbers(number, spoken):
    assert chinese_number(number) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("最高可贷60万元", "最高可贷六十万元"),
        ("每月不超过1,500元", "每月不超过一千五百元"),
        ("利率3.1%", "利率百分之三点一"),
        ("利率1.5~2.5%", "利率百分之一点五到百分之二点五"),
        ("2024年5月18日起执行", "二零二四年五月十八日起执行"),
        ("自2024-05-18起", "自二零二四年五月十八日起"),
        ("办理时间9:00-17:30", "办理时间九点到十七点三十分"),
        ("请拨打12329", "请拨打一二三二九"),
        ("手机13812345678", "手机一三八一二三四五六七八"),
        ("需要2个月，贷款2年", "需要两个月，贷款两年"),
        ("缴存满6个月", "缴存满六个月"),
    ],
)
def test_numbers_dates_and_amounts_are_spoken_naturally(text, spoken):
    assert speak_numbers(text) == spoken


def test_answers_lose_markdown_and_links_and_come_in_short_sentences():
    reply = Reply(
        text="## 租房提取\n**所需材料**：\n1. 身份证\n2. 租房合同（[下载](https://gjj.example.cn/f)）\n"
        "| 项目 | 额度 |\n|---|---|\n| 单身 | 1200元/月 |\n详见 https://gjj.example.cn/rent 。",
        buttons=[{"title": "租房提取", "payload": "/a"}, {"title": "购房提取", "payload": "/b"}],
        links=[{"title": "网上办理", "url": "https://gjj.example.cn/rent"}],
    )
    spoken = for_ear(reply)
    text = spoken.text
    for screen_only in ("http", "gjj.example", "#", "*", "|", "[", "](", "下载", "详见"):
        assert screen_only not in text
    assert "一千二百元每月" in text and "身份证。" in text
    assert spoken.sentences[-1] == "您可以说：租房提取，或者购房提取。"
    assert spoken.links == reply.links and not spoken.truncated


def test_reference_lines_are_not_read_and_brackets_leave_no_stray_punctuation():
    text = (
        "现行公积金贷款年利率（自2025年5月8日起）：首套住房五年以下（含五年）2.1%。\n\n"
        "信息日期：2025-05-08\n**依据**：《住房公积金管理条例》（2019年修订）第二十四条；《某决定》"
    )
    spoken = for_ear(text).text
    assert "信息日期" not in spoken and "依据" not in spoken and "条例" not in spoken
    assert "，：" not in spoken and "：，" not in spoken
    assert spoken.startswith("现行公积金贷款年利率，自二零二五年五月八日起，首套住房五年以下，含五年。百分之二点一。")


def test_long_answers_are_split_and_cut_at_a_sentence():
    clause = "公积金贷款需要连续足额缴存"
    spoken = for_ear("，".join([clause] * 6) + "。" + "其余内容。" * 80, max_chars=120)
    assert all(len(sentence) <= 41 for sentence in spoken.sentences[:3])
    assert sum(map(len, spoken.sentences)) <= 120 and spoken.truncated
    assert all(sentence.endswith("。") for sentence in spoken.sentences)


# -- end of utterance ------------------------------------------------------------------------------

RATE = 16000


def tone(seconds: float, db: float) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    amplitude = 32768 * 10 ** (db / 20) * np.sqrt(2)
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


def feed(detector: EndOfUtterance, pcm: bytes) -> list:
    """Feed 20 ms at a time on a simulated clock; return (utterance, clock) for each one found."""
    found, frame = [], RATE * FRAME_MS // 1000 * 2
    for index in range(0, len(pcm), frame):
        now = index / 2 / RATE
        utterance = detector.feed(pcm[index:index + frame], now)
        if utterance:
            found.append(utterance)
    return found


def test_an_utterance_ends_after_the_hangover_and_keeps_its_first_syllable():
    detector = EndOfUtterance(VadConfig(threshold_db=-45, min_speech_ms=100, hangover_ms=400))
    found = feed(detector, silence(1) + tone(0.6, -20) + silence(0.2) + tone(0.5, -20) + silence(1))
    assert len(found) == 1  # the 0.2 s pause inside the utterance does not end it
    utterance = found[0]
    assert utterance.started_at == pytest.approx(1.0, abs=0.03)
    assert utterance.speech_end_at == pytest.approx(2.28, abs=0.03)
    assert utterance.detected_at - utterance.speech_end_at == pytest.approx(0.4, abs=0.03)
    assert 1.4 < utterance.seconds < 2.0  # pre-roll + speech + hangover


def test_clicks_quiet_sounds_and_steady_noise_are_not_speech():
    detector = EndOfUtterance(VadConfig(threshold_db=-45, min_speech_ms=150, hangover_ms=400))
    assert feed(detector, silence(0.5) + tone(0.06, -10) + silence(1)) == []       # a click
    assert feed(detector, tone(1.0, -60) + silence(0.5)) == []                       # below the threshold
    # A humming room: the floor measured when the call opens, so the hum is not speech, a voice is.
    detector = EndOfUtterance(VadConfig(threshold_db=-45, min_speech_ms=150, hangover_ms=400))
    assert feed(detector, tone(4.0, -40)) == []
    loud = np.frombuffer(tone(0.8, -15), dtype="<i2") + np.frombuffer(tone(0.8, -40), dtype="<i2")
    assert len(feed(detector, loud.astype("<i2").tobytes() + tone(1.0, -40))) == 1


def test_a_room_that_gets_loud_is_learned_after_one_over_long_utterance():
    detector = EndOfUtterance(VadConfig(threshold_db=-45, min_speech_ms=100, hangover_ms=400, max_utterance_s=2))
    found = feed(detector, silence(0.5) + tone(6.0, -30))
    assert len(found) == 1  # cut once at the maximum; after that the hum is the new floor


def test_an_endless_utterance_is_cut_at_the_maximum():
    detector = EndOfUtterance(VadConfig(threshold_db=-45, min_speech_ms=100, hangover_ms=400, max_utterance_s=2))
    found = feed(detector, silence(0.5) + tone(5.0, -20) + silence(1.0))
    assert found and found[0].seconds == pytest.approx(2.0, abs=0.25)


def test_real_speech_from_espeak_is_one_utterance():
    wav = subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "--stdout", "公积金贷款利率是多少"],
                         capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(wav)) as audio:
        pcm = np.frombuffer(audio.readframes(audio.getnframes()), dtype="<i2")
        rate = audio.getframerate()
    pcm16k = np.interp(np.arange(0, len(pcm), rate / RATE), np.arange(len(pcm)), pcm).astype("<i2").tobytes()
    detector = EndOfUtterance(VadConfig())
    assert len(feed(detector, silence(0.5) + pcm16k + silence(1.0))) == 1


# -- engines ---------------------------------------------------------------------------------------

def test_espeak_ng_speaks_chinese_characters_with_the_pinyin_voice():
    # The plain `cmn` voice switches to English rules for characters; cmn-latn-pinyin reads them.
    phonemes = subprocess.run(["espeak-ng", "-q", "-x", "-v", "cmn-latn-pinyin", "公积金"],
                              capture_output=True, text=True, check=True).stdout
    assert "(en)" not in phonemes and "55" in phonemes
    pcm, rate = asyncio.run(EspeakNg("cmn-latn-pinyin", 165).synthesize("-您好，公积金贷款"))
    assert rate == 22050 and len(pcm) > rate  # more than half a second, and "-" was not an option


def test_engine_settings_are_checked(tmp_path: Path):
    assert make_recognizer(Settings(data_dir=tmp_path)) is None  # no model: voice input off
    with pytest.raises(AsrUnavailable, match="not a directory"):
        VoskRecognizer(tmp_path / "missing")
    with pytest.raises(AsrUnavailable, match="not a Vosk model"):
        VoskRecognizer(tmp_path)
    with pytest.raises(AsrUnavailable, match="unknown VOICE_ASR_ENGINE"):
        make_recognizer(Settings(data_dir=tmp_path, voice_asr_engine="whisper", voice_asr_model_path=tmp_path))
    with pytest.raises(TtsUnavailable, match="unknown VOICE_TTS_ENGINE"):
        make_synthesizer(Settings(data_dir=tmp_path, voice_tts_engine="say"))
    with pytest.raises(TtsUnavailable, match="not installed"):
        EspeakNg("cmn-latn-pinyin", 165, binary="espeak-ng-missing")
