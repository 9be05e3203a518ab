#!/usr/bin/env bash
# The whole system on its embedded defaults: SQLite, in-process bus, shipped models.
# Creates both environments, trains the model and builds the index when their inputs changed,
# starts the action server, Rasa and the service, and stops all three on Ctrl-C.
source "$(dirname "$0")/common.sh"
PORT="${PORT:-8000}" RASA_PORT="${RASA_PORT:-5005}" ACTIONS_PORT="${ACTIONS_PORT:-5055}"
export PORT RASA_URL="${RASA_URL:-http://127.0.0.1:$RASA_PORT}" ACTION_SERVER_URL="${ACTION_SERVER_URL:-http://127.0.0.1:$ACTIONS_PORT}"
export HPF_SERVICE_URL="${HPF_SERVICE_URL:-http://127.0.0.1:$PORT}"
LOG_DIR="${DATA_DIR:-$ROOT/data}/logs"

ensure_envs
scripts/train.sh
"$SVC_PY" -m knowledge.ingest
mkdir -p "$LOG_DIR"

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "==> stopping" >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  exit 0
}
trap stop INT TERM EXIT

(cd bot && exec "$BOT_BIN/rasa" run actions --actions actions --port "$ACTIONS_PORT") >"$LOG_DIR/actions.log" 2>&1 &
pids+=($!)
"$BOT_BIN/rasa" run --enable-api -i 127.0.0.1 -p "$RASA_PORT" -m bot/models/hpf.tar.gz \
  --endpoints bot/endpoints.yml --credentials bot/credentials.yml >"$LOG_DIR/rasa.log" 2>&1 &
pids+=($!)
"$SVC_PY" -m core 2>&1 | tee "$LOG_DIR/service.log" &
pids+=($!)

echo "==> waiting for Rasa, the action server and the service (logs in $LOG_DIR)" >&2
wait_http "http://127.0.0.1:$PORT/healthz" 180 "the system"
echo
echo "住房公积金智能客服已启动：http://127.0.0.1:$PORT   （Ctrl-C 停止）"
echo "API 文档：http://127.0.0.1:$PORT/api/docs"
wait
