"""Every route of the OpenAPI description fuzzed with Schemathesis against the running service (uvicorn,
its lifespan, SQLite, Rasa unreachable): whatever the generated input, with a supervisor's credentials
and without, the answer is never a 5xx. A failure prints the case to replay."""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from core.settings import Settings
from server.app import create_app
from server.stack import free_port
from staff import passwords
from tests.corpus import write_seed
from tests.knowledge.test_knowledge_admin_api import CHEAP

# Long-polls hold a request for up to their `wait`: fuzzed values would only make the run long.
SLOW = r"^/api/v1/app/messages$|^/api/v1/web/messages$"
# The health report and readiness answer 503 by design while Rasa (absent here) or the index is not ready.
PROBES = r"^/healthz$|^/readyz$"
EXAMPLES = 5


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fuzz")
    nowhere = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    values = Settings(data_dir=root, index_dir=root / "index", knowledge_dir=write_seed(root / "seed"),
                      rasa_url=nowhere, action_server_url=nowhere, port=port,
                      console_bootstrap_admin="admin:admin-pass-1", rate_limit_citizen=0, rate_limit_address=0,
                      rate_limit_sessions=0, console_login_attempts=1000,
                      # The phone line and app push configured, so their webhooks check signatures (an
                      # unconfigured one answers 503 *_not_configured by design).
                      twilio_account_sid="AC" + "0" * 32, twilio_auth_token="fuzz-twilio-token-0123456789",
                      app_push_url=f"http://127.0.0.1:{free_port()}/push", app_push_secret="fuzz-push-secret-0123456789")
    server = uvicorn.Server(uvicorn.Config(create_app(values), host="127.0.0.1", port=port, log_level="warning"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", CHEAP)
        thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
        thread.start()
        deadline = time.monotonic() + 120
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        while httpx.get(f"{base}/readyz", timeout=10).status_code != 200:  # the index is built
            assert time.monotonic() < deadline + 300, "the index was not ready"
            time.sleep(0.5)
        yield base
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def supervisor(service) -> dict[str, str]:
    token = httpx.post(f"{service}/api/v1/console/login", json={"username": "admin", "password": "admin-pass-1"})
    return {"Authorization": f"Bearer {token.json()['token']}"}


def test_no_input_makes_the_service_fail(service, supervisor):
    schema = schemathesis.openapi.from_url(f"{service}/api/v1/openapi.json").exclude(path_regex=f"{SLOW}|{PROBES}")
    failures: list[str] = []
    calls: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def fuzz(case) -> None:
            for headers in ({}, supervisor):  # refused at the door, and let in
                calls.append(case.operation.label)
                response = case.call(headers=headers, timeout=30)
                case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001  (Schemathesis raises groups; each operation's are shown)
            failures.append(f"{operation.label}: {str(exc)[:600]}")
        checked += 1
    assert checked > 100 and len(calls) > 4 * checked, (checked, len(calls))
    assert not failures, "\n\n".join(failures)
