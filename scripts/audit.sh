#!/usr/bin/env bash
# The dependency audit (`make audit`, and .ci/run before the tests): pip-audit, in its own environment
# (.venv-audit from requirements/audit.txt), over the pinned requirements/*.txt (or the files named).
# Exit 0: every pin checked, no known vulnerability; 1: a known vulnerability (or the audit broke);
# 2: no vulnerability service answered, so nothing was checked - printed as such, never as a pass.
source "$(dirname "$0")/common.sh"
ensure_venv .venv-audit 3.11 requirements/audit.txt
exec "$ROOT/.venv-audit/bin/python" "$ROOT/scripts/audit.py" "$@"
