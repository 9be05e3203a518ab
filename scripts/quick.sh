#!/usr/bin/env bash
# The quick run (`make quick`): the unit tests that need nothing but .venv-service, in well under a
# minute. No Rasa model, no PostgreSQL or Redis, no browser, no knowledge-index build: those tests
# are left out by their markers (pyproject.toml) and run in `make test`, the whole suite.
# Extra arguments go to pytest (scripts/quick.sh -x -k calculator).
source "$(dirname "$0")/common.sh"
ensure_venv .venv-service 3.11 requirements/service.txt

QUICK="not index and not rasa and not postgres and not redis and not browser"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$SECONDS
# No server addresses: a test that needs one and lacks its marker fails here instead of waiting.
status=0
env -u TEST_POSTGRES_URL -u TEST_REDIS_URL "$SVC_PY" -m pytest -p no:cacheprovider -q tests/unit -m "$QUICK" "$@" \
  | tee "$log" || status=$?
elapsed=$((SECONDS - start))

summary="$(grep -E ' in [0-9.]+s' "$log" | tail -n 1 || true)"
passed="$(grep -oE '[0-9]+ passed' <<<"$summary" | cut -d' ' -f1 || true)"
skipped="$(grep -oE '[0-9]+ skipped' <<<"$summary" | cut -d' ' -f1 || true)"
if (( status == 5 )) || [[ -z "$passed" && $status -eq 0 ]]; then
  echo "error: the quick run collected no tests (marker expression: $QUICK)" >&2; exit 1
fi
if (( status != 0 )); then
  exit "$status"
fi
if [[ -n "$skipped" ]]; then
  # A skip here would hide a test that cannot run without something the quick run does not have:
  # mark it (index, rasa, postgres, redis, browser) so it runs in `make test` instead.
  echo "error: the quick run skipped $skipped test(s); mark what they need instead" >&2; exit 1
fi
echo "quick: ${passed} tests passed in ${elapsed} s (index builds, Rasa, databases, Redis and browser: make test)"
if (( elapsed > 60 )); then
  echo "warning: the quick run took over a minute; mark the slow tests (index) or move them" >&2
fi
