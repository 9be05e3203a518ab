#!/usr/bin/env bash
# The static checks, run by `make lint` and by the test command: ruff, then the layer contracts
# (import-linter, [tool.importlinter] in pyproject.toml). Needs only .venv-service, made here on a
# fresh clone.
source "$(dirname "$0")/common.sh"
ensure_venv .venv-service 3.11 requirements/service.txt
"$SVC_PY" -m ruff check .
"$ROOT/.venv-service/bin/lint-imports"
