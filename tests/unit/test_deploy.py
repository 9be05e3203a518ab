"""docker-compose.yml cannot be started here (no Docker engine), so its promises are checked instead:
official images, our Dockerfiles and files exist, every service setting is one the service reads,
and every variable Rasa's production endpoints need is provided."""
import re

import yaml

from core.settings import Settings
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
OFFICIAL = ("postgres:", "redis:", "nginx:")


def test_images_are_official_or_built_from_official_python():
    for name, service in SERVICES.items():
        if "image" in service:
            assert service["image"].startswith(OFFICIAL), name
        else:
            dockerfile = ROOT / service["build"]["dockerfile"]
            first = dockerfile.read_text(encoding="utf-8").splitlines()
            base = next(line for line in first if line.startswith("FROM "))
            assert re.fullmatch(r"FROM python:3\.1[01]-slim", base), (name, base)


def test_dockerfiles_copy_files_that_exist_and_match_the_venv_pythons():
    for dockerfile, python in (("Dockerfile.service", "3.11"), ("Dockerfile.bot", "3.10")):
        text = (ROOT / "deploy" / dockerfile).read_text(encoding="utf-8")
        assert f"FROM python:{python}-slim" in text
        for source in re.findall(r"^COPY (\S+) ", text, flags=re.MULTILINE):
            assert (ROOT / source).exists(), f"{dockerfile} copies missing {source}"


def test_service_environment_names_real_settings():
    fields = {name.upper() for name in Settings.model_fields}
    env = SERVICES["service"]["environment"]
    assert set(env) <= fields, set(env) - fields
    assert env["ENVIRONMENT"] == "production" and {"SESSION_SECRET", "APP_API_KEY"} <= set(env)


def test_rasa_gets_every_variable_its_production_endpoints_use():
    endpoints = (ROOT / "bot" / "endpoints.production.yml").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{(\w+)\}", endpoints))
    assert needed <= set(SERVICES["rasa"]["environment"]), needed - set(SERVICES["rasa"]["environment"])


def test_mounted_files_exist():
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
