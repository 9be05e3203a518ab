#!/usr/bin/env bash
# The whole system on its embedded defaults: SQLite, in-process bus, shipped models.
# Creates both environments, trains the model and builds the index when their inputs changed,
# then starts the action server, Rasa and the service (server/stack.py); Ctrl-C stops all three.
source "$(dirname "$0")/common.sh"
ensure_envs
scripts/train.sh
"$SVC_PY" -m knowledge.ingest
exec "$SVC_PY" -m server.stack
