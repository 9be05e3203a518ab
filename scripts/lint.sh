#!/usr/bin/env bash
# The static checks, run by `make lint` and by the test command: ruff, the layer contracts
# (import-linter, [tool.importlinter] in pyproject.toml), then the types (mypy, [tool.mypy]: strict on
# the seams between packages). Needs only .venv-service, made here on a fresh clone.
source "$(dirname "$0")/common.sh"
ensure_venv .venv-service 3.11 requirements/service.txt
"$SVC_PY" -m ruff check .
"$ROOT/.venv-service/bin/lint-imports"
"$SVC_PY" -m mypy
