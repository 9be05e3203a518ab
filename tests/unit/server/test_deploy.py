"""docker-compose.yml cannot be started here (no Docker engine), so its promises are checked instead:
official images, our Dockerfiles and files exist, the service image installs the project and holds
every input its index is built from, every service setting is one the service reads, every channel
setting can be passed in, and every variable Rasa's production endpoints need is provided."""
import re
from pathlib import Path

import yaml

from core.settings import Settings
from knowledge.ingest import sources_for
from tests.conftest import ROOT
from tests.unit.server.test_packaging import shipped_packages

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
OFFICIAL = ("postgres:", "redis:", "nginx:")
SERVICE_DOCKERFILE = (ROOT / "deploy" / "Dockerfile.service").read_text(encoding="utf-8")
# The settings an operator gives the channels (phone, in-browser voice, WeChat) and the centre's own
# constants; fields that only point a client at a local fake in tests are not among them.
CHANNEL_PREFIXES = ("wechat_", "twilio_", "voice_", "outreach_", "centre_data_", "app_push_")
CENTRE = ("hotline", "centre_name", "city")


def copied_paths(dockerfile: str) -> list[Path]:
    return [ROOT / source for source in re.findall(r"^COPY (\S+) ", dockerfile, flags=re.MULTILINE)]


def holds(copied: list[Path], path: Path) -> bool:
    return any(path == source or source in path.parents for source in copied)


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
    assert env["ENVIRONMENT"] == "production" and {"SESSION_SECRET", "APP_API_KEY", "BOT_API_KEY", "OUTREACH_BUSINESS_SECRET"} <= set(env)


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


def test_the_service_image_installs_the_project_after_its_pinned_requirements():
    lines = [line for line in SERVICE_DOCKERFILE.splitlines() if line.startswith("RUN pip install")]
    assert len(lines) == 2 and "-r requirements/service.txt" in lines[0], lines
    assert lines[1].endswith(" .") and "--no-deps" in lines[1], "the project itself, with the pinned set above"
    copied = copied_paths(SERVICE_DOCKERFILE)
    for package in shipped_packages():
        assert holds(copied, ROOT / package), f"Dockerfile.service does not copy {package}"
    assert holds(copied, ROOT / "pyproject.toml")


def test_the_service_image_holds_every_input_the_index_is_built_from(tmp_path):
    """The same index in the image as from `make run`: every folder and file the build's fingerprint
    covers, as the code names them, is copied; and the image build checks they are there."""
    inputs = sources_for(Settings(_env_file=None, data_dir=tmp_path)).inputs()
    assert any(path.name == "nlu.yml" for path in inputs), "the bot's out_of_scope examples are an input"
    copied = copied_paths(SERVICE_DOCKERFILE)
    for path in inputs:
        assert path.exists(), path
        assert holds(copied, path), f"Dockerfile.service does not copy {path.relative_to(ROOT)}"
    assert "RUN python -m knowledge.ingest --check" in SERVICE_DOCKERFILE


def test_every_channel_and_centre_setting_can_be_passed_through_the_environment():
    env = SERVICES["service"]["environment"]
    wanted = {
        name.upper() for name, field in Settings.model_fields.items()
        if (name.startswith(CHANNEL_PREFIXES) or name in CENTRE) and "local fake in tests" not in (field.description or "")
    }
    assert {"WECHAT_TOKEN", "WECHAT_AES_KEY", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_MODE"} <= wanted
    # Optional ones as NAME: ${NAME:-}; the secrets production must have as NAME: ${NAME:?...}.
    missing = {name for name in wanted
               if env.get(name) != f"${{{name}:-}}" and not str(env.get(name, "")).startswith(f"${{{name}:?")}
    assert not missing, f"docker-compose.yml: pass these as NAME: ${{NAME:-}}: {sorted(missing)}"


def test_the_production_nginx_tells_browsers_to_keep_to_https():
    """HSTS on every answer of the production proxy (errors too: `always`), for a year and subdomains."""
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    header = re.search(r'^\s*add_header Strict-Transport-Security "max-age=(\d+)([^"]*)"( always)?;', nginx, re.M)
    assert header, "deploy/nginx.conf sends no Strict-Transport-Security"
    assert int(header.group(1)) >= 31_536_000 and "includeSubDomains" in header.group(2)
    assert header.group(3), "without `always` nginx leaves it off error answers"
