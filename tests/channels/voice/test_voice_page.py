"""The talk button on the citizen page, in headless Chromium against the real app (Rasa played by a
fake). Chromium's microphone is a WAV file of espeak-ng Mandarin, so the page makes a real WebRTC call
to the service and the service answers it aloud."""
from __future__ import annotations

import re
import wave
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from channels.voice.webrtc import VoiceCalls
from core.services import services_of
from core.settings import Settings
from fakes.browser import CHROMIUM, CHROMIUM_ARGS
from fakes.rasa import FakeRasa
from tests.channels.voice.voice_helpers import QUESTION, RATE, ScriptedRecognizer, Service, espeak

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def microphone_file(tmp_path_factory) -> str:
    """What Chromium's fake microphone plays (in a loop): the question, then two seconds of quiet."""
    path = tmp_path_factory.mktemp("mic") / "question.wav"
    samples = np.concatenate([np.zeros(RATE // 2, "<i2"), espeak(QUESTION), np.zeros(2 * RATE, "<i2")])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return str(path)


def in_chromium(base_url: str, microphone_file: str, steps: Callable[[Page], None]) -> None:
    """Run `steps` on the chat page in a Chromium of its own, in a thread of its own: Playwright's sync
    API keeps an event loop running in the thread that started it, and the chat page's tests already
    hold the main thread's."""
    args = CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone_file}",
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
    ]

    def run() -> None:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
            try:
                context = browser.new_context(base_url=base_url, locale="zh-CN")
                context.set_default_timeout(20_000)
                page = context.new_page()
                page.goto("/")
                expect(page.locator("#conn")).to_have_attribute("data-state", "online")
                steps(page)
            finally:
                browser.close()

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium or set CHROMIUM_PATH")
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(run).result()


@pytest.fixture(scope="module")
def service(loopback_ice, tmp_path_factory, voice_index_dir) -> Iterator[Service]:
    with FakeRasa() as rasa:
        settings = Settings(data_dir=tmp_path_factory.mktemp("page"), index_dir=voice_index_dir, rasa_url=rasa.url)
        with Service(settings) as running:
            yield running


def test_without_a_model_the_talk_button_says_voice_is_not_set_up_and_text_works(service, microphone_file):
    in_chromium(service.url, microphone_file, talk_button_explains_and_text_works)


def talk_button_explains_and_text_works(page: Page) -> None:
    talk = page.get_by_role("button", name="语音对话")
    expect(talk).to_be_visible()
    expect(talk).to_have_attribute("data-ready", "false")
    talk.click()
    expect(page.locator("#voice-status")).to_contain_text("语音输入尚未开通")
    page.locator("#input").fill("你好")
    page.locator("#input").press("Enter")
    expect(page.locator("#messages .msg--bot").last).to_contain_text("收到：你好")


def test_the_talk_button_opens_a_voice_call_that_is_answered_aloud(service: Service, microphone_file):
    engine = ScriptedRecognizer()
    services_of(service.app).get(VoiceCalls).recognizer = engine
    try:
        in_chromium(service.url, microphone_file, lambda page: talk_and_hang_up(page, service, engine))
    finally:
        services_of(service.app).get(VoiceCalls).recognizer = None


def talk_and_hang_up(page: Page, service: Service, engine: ScriptedRecognizer) -> None:
    talk = page.get_by_role("button", name="语音对话")
    talk.click()
    expect(talk).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#voice-status")).to_have_text(re.compile(f"您说：{QUESTION}|智能客服：收到"))
    expect(page.locator("#voice-status")).to_have_text(f"智能客服：收到：{QUESTION}")
    assert engine.heard and len(engine.heard[0]) / 2 / 16000 > 1.0
    talk.click()  # hang up
    expect(talk).to_have_attribute("aria-pressed", "false")
    for _ in range(50):
        if not services_of(service.app).get(VoiceCalls).sessions:
            break
        page.wait_for_timeout(100)
    assert not services_of(service.app).get(VoiceCalls).sessions
