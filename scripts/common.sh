# Shared by the run and test commands: locate the interpreters, create both environments.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {  # find_python 3.11 → path of a python3.11, pyenv-aware
  local v="$1" candidate
  for candidate in "python$v" "$HOME/.pyenv/versions/$v"*/bin/"python$v" /usr/local/bin/"python$v" /usr/bin/"python$v"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      command -v "$candidate"; return 0
    fi
  done
  echo "error: Python $v not found (install it, e.g. with pyenv)" >&2; return 1
}

ensure_venv() {  # ensure_venv <dir> <python version> <requirements file>
  local dir="$1" version="$2" reqs="$3" stamp
  stamp="$(sha256sum "$reqs" | cut -c1-16)"
  if [[ -f "$dir/.requirements-stamp" && "$(cat "$dir/.requirements-stamp")" == "$stamp" ]]; then
    return 0
  fi
  echo "==> creating $dir (Python $version) from $reqs" >&2
  [[ -x "$dir/bin/python" ]] || "$(find_python "$version")" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip wheel >&2
  "$dir/bin/python" -m pip install -q -r "$reqs" >&2
  echo "$stamp" > "$dir/.requirements-stamp"
}

ensure_envs() {
  ensure_venv .venv-service 3.11 requirements/service.txt
  ensure_venv .venv-bot 3.10 requirements/bot.txt
}

SVC_PY="$ROOT/.venv-service/bin/python"
BOT_BIN="$ROOT/.venv-bot/bin"

# Rasa must not try to reach the internet (telemetry) nor flood the console.
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 HF_HUB_OFFLINE=1
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

