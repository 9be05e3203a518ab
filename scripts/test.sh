#!/usr/bin/env bash
# The whole test suite: both environments, the Rasa model, PostgreSQL and Redis, then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
source "$(dirname "$0")/common.sh"
ensure_envs
eval "$(scripts/test-servers.sh)"
scripts/train.sh
command -v chromium >/dev/null || { echo "error: chromium is needed by the browser tests (apt-get install chromium)" >&2; exit 1; }
scripts/lint.sh
exec "$SVC_PY" -m pytest "$@"
