"""The dependency audit (scripts/audit.py, run by scripts/audit.sh and the test command): the real pip-audit
of .venv-audit against a vulnerability service of our own on loopback (an OSV-compatible API, which
`PIP_AUDIT_OSV_URL` lets pip-audit use). A known vulnerability fails; a clean set passes; a service that
cannot be reached, answers with an error, or (PyPI's per-version pages missing) skips every pin is reported
as an audit that could not run, never as a pass."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT

AUDIT_PYTHON = ROOT / ".venv-audit" / "bin" / "python"
SCRIPT = ROOT / "scripts" / "audit.py"
PINS = "jinja2==2.10\nrequests==2.34.2\n"
# One advisory as OSV's query API returns it (the fields pip-audit reads).
JINJA_ADVISORY = {
    "id": "GHSA-462w-v97r-4m45", "aliases": ["CVE-2019-10906"], "summary": "Sandbox escape in str.format_map",
    "published": "2019-04-10T14:30:13Z",
    "affected": [{"package": {"name": "jinja2", "ecosystem": "PyPI"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}]}],
}


class FakeOsv:
    """Answers OSV's `POST /v1/query` from `advisories` ({(name, version): [advisory]}), or with `status`."""

    def __init__(self) -> None:
        self.advisories: dict[tuple[str, str], list[dict]] = {}
        self.status = 200
        self.asked: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = (query["package"]["name"], query["version"])
                fake.asked.append(key)
                found = fake.advisories.get(key)
                body = json.dumps({"vulns": found} if found else {}).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/query"


@pytest.fixture
def osv() -> Iterator[FakeOsv]:
    if not AUDIT_PYTHON.exists():
        pytest.fail("the audit's environment is missing: scripts/audit.sh (or scripts/test.sh) makes .venv-audit")
    fake = FakeOsv()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _audit(tmp_path: Path, osv_url: str, *, services: str = "osv", pins: str = PINS,
           **env: str) -> subprocess.CompletedProcess[str]:
    requirements = tmp_path / "pins.txt"
    requirements.write_text(pins)
    environment = {**os.environ, "AUDIT_SERVICES": services, "PIP_AUDIT_OSV_URL": osv_url, "AUDIT_TIMEOUT_S": "5",
                   **env}
    return subprocess.run([str(AUDIT_PYTHON), str(SCRIPT), str(requirements)], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_a_known_vulnerability_fails_the_audit_and_names_the_advisory(osv, tmp_path):
    osv.advisories[("jinja2", "2.10")] = [JINJA_ADVISORY]
    done = _audit(tmp_path, osv.url)
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = [line for line in done.stdout.splitlines() if "VULNERABLE" in line]
    assert line.strip().startswith("VULNERABLE jinja2==2.10:") and line.endswith("(fixed in 2.10.1)")
    assert "GHSA-462w-v97r-4m45" in line and "CVE-2019-10906" in line
    assert "FAILED - 1 known vulnerabilities" in done.stdout
    assert sorted(osv.asked) == [("jinja2", "2.10"), ("requests", "2.34.2")], "the pinned versions, as written"


def test_pins_without_a_known_vulnerability_pass(osv, tmp_path):
    done = _audit(tmp_path, osv.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 pins checked against osv, 0 known vulnerabilities" in done.stdout and "passed" in done.stdout


@pytest.mark.parametrize("status", [404, 503])
def test_a_service_answering_with_an_error_is_an_audit_that_could_not_run(osv, tmp_path, status):
    osv.status = status
    done = _audit(tmp_path, osv.url)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "COULD NOT RUN" in done.stdout and "NOT a pass" in done.stdout and "passed" not in done.stdout


def test_an_unreachable_service_is_an_audit_that_could_not_run(osv, tmp_path):
    osv.server.server_close()  # nothing listens on the address any more
    done = _audit(tmp_path, osv.url)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the osv service could not be used" in done.stdout and "NOT a pass" in done.stdout


def test_a_service_that_skips_every_pin_is_no_pass_and_the_next_service_is_asked(osv, tmp_path):
    """pip-audit's PyPI service, where the per-version pages answer 404, skips every package and exits 0
    with "No known vulnerabilities found": here a stand-in answers so for `pypi` (the very JSON pip-audit
    writes then) and hands `osv` to the real pip-audit."""
    stand_in = tmp_path / "pip-audit"
    stand_in.write_text(f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
if args[args.index("--vulnerability-service") + 1] != "pypi":
    os.execv({str(AUDIT_PYTHON.with_name("pip-audit"))!r}, ["pip-audit", *args])
skipped = [{{"name": n, "skip_reason": f"Dependency not found on PyPI and could not be audited: {{n}} ({{v}})"}}
           for n, v in (("jinja2", "2.10"), ("requests", "2.34.2"))]
open(args[args.index("--output") + 1], "w").write(json.dumps({{"dependencies": skipped, "fixes": []}}))
print("No known vulnerabilities found", file=sys.stderr)
""")
    stand_in.chmod(0o755)
    osv.advisories[("jinja2", "2.10")] = [JINJA_ADVISORY]
    done = _audit(tmp_path, osv.url, services="pypi osv", PIP_AUDIT=str(stand_in))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "the pypi service could not be used" in done.stdout and "none of the 2 pins" in done.stdout
    assert "VULNERABLE jinja2==2.10" in done.stdout

    osv.status = 503  # and with no second service either: could not run, not a pass
    done = _audit(tmp_path, osv.url, services="pypi osv", PIP_AUDIT=str(stand_in))
    assert done.returncode == 2 and "COULD NOT RUN" in done.stdout, done.stdout + done.stderr


def test_a_requirement_the_audit_cannot_read_fails_it(osv, tmp_path):
    done = _audit(tmp_path, osv.url, pins="jinja2>=2.10\n")  # not pinned: pip-audit cannot audit it as written
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED to run" in done.stdout
