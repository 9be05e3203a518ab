#!/usr/bin/env bash
# The production topology on this machine, without containers (server/topology.py): PostgreSQL and
# Redis of its own (Debian's packages), two Rasa servers (trackers in PostgreSQL, locks in Redis), the
# action server, two service instances, the campaign workers and nginx in front. Ctrl-C stops it all.
# Extra arguments go to `python -m server.topology` (--root DIR, --port N).
source "$(dirname "$0")/common.sh"
ensure_envs
for tool in nginx redis-server pg_ctlcluster; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed: apt-get install nginx-light redis-server postgresql" >&2; exit 1; }
done
scripts/train.sh
exec "$SVC_PY" -m server.topology "$@"
