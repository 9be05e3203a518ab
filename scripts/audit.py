"""The dependency audit: pip-audit over the pinned requirement files, and an honest verdict.

Run by scripts/audit.sh with .venv-audit's Python (standard library only here; pip-audit is a command of
that environment). Exit status:
  0  every pin was checked against a vulnerability service and none has a known vulnerability
  1  a known vulnerability was found (or the audit itself broke, e.g. an unreadable requirement file)
  2  the audit could NOT run: no vulnerability service answered. That is not a pass, and says so.

Why a wrapper at all: pip-audit's default service asks PyPI one version at a time
(`/pypi/<name>/<version>/json`); where that address answers 404 (a mirror that serves only the project
pages) pip-audit skips every package as "not found on PyPI", prints "No known vulnerabilities found" and
exits 0. `--strict` turns that into exit 1, which is then indistinguishable from a vulnerability. So each
file is audited to JSON and the skips are counted here: a service that checked none of the pins is a
service that did not answer, and the next one is tried (OSV; `PIP_AUDIT_OSV_URL` points pip-audit at an
OSV-compatible mirror). pip-audit reads no local advisory file: a service is the only source.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CLEAN, VULNERABLE, NOT_RUN = 0, 1, 2
# What a connection failure looks like in pip-audit's output: the service is out of reach, not our pins.
UNREACHABLE_SIGNS = (
    "ConnectionError", "NameResolutionError", "Failed to resolve", "Could not connect", "ConnectTimeout",
    "ReadTimeout", "Max retries exceeded", "ServiceError", "network may be blocking", "not redirecting properly",
)
TIMEOUT_S = int(os.environ.get("AUDIT_TIMEOUT_S", "20"))


@dataclass
class FileResult:
    checked: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # name==version → pip-audit's reason
    vulns: list[str] = field(default_factory=list)  # one line each: package, version, ids, fixed in


class Unreachable(Exception):
    """The service did not answer for these pins (why, in words)."""


class AuditBroke(Exception):
    """pip-audit failed for a reason of ours (say, a requirement it cannot read)."""


def _pip_audit() -> str:
    # The environment's own command; PIP_AUDIT names another (the tests' stand-in for a service's answers).
    return os.environ.get("PIP_AUDIT") or str(Path(sys.executable).with_name("pip-audit"))


def audit_file(service: str, requirements: Path) -> FileResult:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [
            _pip_audit(), "--vulnerability-service", service, "--requirement", str(requirements),
            # The files are fully pinned: audit exactly those versions, without resolving or installing.
            "--no-deps", "--disable-pip", "--format", "json", "--output", str(report),
            "--progress-spinner", "off", "--timeout", str(TIMEOUT_S),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S * 40)
        said = (done.stderr + done.stdout).strip()
        if not report.exists() or not report.read_text().strip():
            if any(sign in said for sign in UNREACHABLE_SIGNS):
                raise Unreachable(f"{requirements}: {_last_line(said)}")
            raise AuditBroke(f"pip-audit exited {done.returncode} without a report: {_last_line(said)}")
        data = json.loads(report.read_text())
    result = FileResult()
    for dep in data.get("dependencies", []):
        pin = f"{dep.get('name')}=={dep.get('version', '?')}"
        if dep.get("skip_reason"):
            result.skipped[pin] = dep["skip_reason"]
            continue
        result.checked += 1
        for vuln in dep.get("vulns", []):
            ids = ", ".join([vuln.get("id", "?"), *vuln.get("aliases", [])])
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release"
            result.vulns.append(f"{pin}: {ids} (fixed in {fixed})")
    if result.checked == 0 and result.skipped:
        reason = next(iter(result.skipped.values()))
        raise Unreachable(f"{requirements}: it answered for none of the {len(result.skipped)} pins ({reason})")
    return result


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def run(services: list[str], files: list[Path]) -> int:
    for service in services:
        try:
            results = {path: audit_file(service, path) for path in files}
        except Unreachable as why:
            print(f"audit: the {service} service could not be used: {why}")
            continue
        except AuditBroke as why:
            print(f"audit: FAILED to run: {why}")
            return VULNERABLE
        return report(service, results)
    print(
        "audit: COULD NOT RUN - no vulnerability service answered "
        f"(tried: {', '.join(services)}). This is NOT a pass: the pinned dependencies are unchecked. "
        "Run scripts/audit.sh where PyPI's per-version pages or OSV answer, or set PIP_AUDIT_OSV_URL to "
        "an OSV-compatible mirror."
    )
    return NOT_RUN


def report(service: str, results: dict[Path, FileResult]) -> int:
    found = 0
    for path, result in results.items():
        print(f"audit: {path}: {result.checked} pins checked against {service}, "
              f"{len(result.vulns)} known vulnerabilities")
        for line in result.vulns:
            print(f"  VULNERABLE {line}")
        for pin, reason in result.skipped.items():
            print(f"  NOT CHECKED {pin}: {reason}")
        found += len(result.vulns)
    if found:
        print(f"audit: FAILED - {found} known vulnerabilities in the pinned dependencies")
        return VULNERABLE
    print("audit: passed - no known vulnerability in the pins checked")
    return CLEAN


def main(argv: list[str]) -> int:
    files = [Path(arg) for arg in argv] or sorted(Path("requirements").glob("*.txt"))
    services = os.environ.get("AUDIT_SERVICES", "pypi osv").split()
    return run(services, files)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
