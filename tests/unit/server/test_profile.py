"""The centre's constants (hotline, name, city) have one source, the settings: the service serves them at
GET /api/v1/service/profile, the bot's replies and the chat page take them from there."""
from __future__ import annotations

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.actions import profile as bot_profile
from bot.actions import service as bot_service
from core.deps import get_settings_dep
from core.errors import install_error_handlers
from core.settings import Settings
from server import profile
from tests.conftest import ROOT

CENTRE = ("hotline", "centre_name", "city")
# The product's code and the bot's dialogue; the articles and checklists are the centre's content.
CODE_GLOBS = ("core/**/*.py", "conversations/**/*.py", "staff/**/*.py", "policy/**/*.py", "knowledge/**/*.py",
              "channels/**/*.py", "channels/**/*.html", "channels/**/*.js", "agent_console/**/*.py",
              "agent_console/**/*.html", "agent_console/**/*.js", "callout/**/*.py", "server/**/*.py",
              "bot/actions/*.py", "bot/domain.yml", "bot/data/rules.yml", "bot/data/stories.yml")


def _client(settings: Settings) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(profile.router)
    app.dependency_overrides[get_settings_dep] = lambda: settings
    return TestClient(app)


def test_the_profile_is_the_settings(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, hotline="0310-12329", centre_name="某市住房公积金管理中心",
                        city="某市")
    body = _client(settings).get("/api/v1/service/profile").json()
    assert body == {"hotline": "0310-12329", "centre_name": "某市住房公积金管理中心", "city": "某市"}


def test_the_bots_stand_in_values_are_the_services_defaults(tmp_path):
    defaults = Settings(_env_file=None, data_dir=tmp_path)
    assert {name: getattr(bot_profile.DEFAULT, name) for name in CENTRE} == {n: getattr(defaults, n) for n in CENTRE}
    assert bot_profile.SLOTS == CENTRE
    slots = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))["slots"]
    assert {name: slots[name].get("initial_value") for name in CENTRE} == {n: getattr(defaults, n) for n in CENTRE}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_bot_keeps_the_profile_and_asks_again_only_when_due(monkeypatch):
    calls: list[str] = []
    answers: list[object] = [{"hotline": "96123", "centre_name": "某中心", "city": "某市"}, bot_service.Unavailable("x"),
                             {"hotline": " ", "centre_name": "新中心", "city": None}]

    async def fake_profile() -> dict:
        calls.append("profile")
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(bot_service, "profile", fake_profile)
    clock = Clock()
    cache = bot_profile.ProfileCache(clock)
    assert cache.current == bot_profile.DEFAULT, "before the service answers, its defaults"
    assert (await cache.refresh()).hotline == "96123"
    assert (await cache.refresh()).hotline == "96123" and len(calls) == 1, "kept, not asked again"
    clock.now += bot_profile.REFRESH_S
    assert (await cache.refresh()).hotline == "96123" and len(calls) == 2, "the service down: the last known values"
    clock.now += bot_profile.RETRY_S - 1
    await cache.refresh()
    assert len(calls) == 2, "a failed call is not retried at once"
    clock.now += 1
    refreshed = await cache.refresh()
    assert refreshed == bot_profile.Profile(hotline="96123", centre_name="新中心", city="某市"), "blanks keep the old"


def test_the_domain_says_the_hotline_and_the_centre_from_slots_the_session_start_fills():
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    assert "action_session_start" in domain["actions"]
    for name in CENTRE:
        assert domain["slots"][name]["influence_conversation"] is False
    texts = {name: " ".join(v.get("text", "") for v in variants) for name, variants in domain["responses"].items()}
    assert "{hotline}" in texts["utter_iamabot"] and "{centre_name}" in texts["utter_iamabot"]
    assert "{hotline}" in texts["utter_default"] and "{hotline}" in texts["utter_invalid_home_kind"]


def test_only_the_settings_and_the_bots_stand_ins_type_the_hotline(tmp_path):
    number = Settings(_env_file=None, data_dir=tmp_path).hotline
    typed = sorted(
        str(path.relative_to(ROOT)) for pattern in CODE_GLOBS for path in ROOT.glob(pattern)
        if "__pycache__" not in path.parts and number in path.read_text(encoding="utf-8")
    )
    # The settings' default, and the bot's stand-ins for it (the actions' cache and the slots' initial
    # values), which the test above keeps equal to it.
    assert typed == ["bot/actions/profile.py", "bot/domain.yml", "core/settings.py"]
