#!/usr/bin/env bash
# The whole test suite: both environments, the Rasa model, PostgreSQL and Redis, then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
source "$(dirname "$0")/common.sh"
ensure_envs
eval "$(scripts/test-servers.sh)"
scripts/train.sh
command -v chromium >/dev/null || { echo "error: chromium is needed by the browser tests (apt-get install chromium)" >&2; exit 1; }
scripts/lint.sh
# The dependency audit (also makes .venv-audit, which tests/server/test_dependency_audit.py runs). A known
# vulnerability (1) stops here; 2 means no vulnerability service answered, which the audit prints as an
# audit that could not run (never a pass) and which is no reason to withhold the tests.
scripts/audit.sh || [[ $? -eq 2 ]]
exec "$SVC_PY" -m pytest "$@"
