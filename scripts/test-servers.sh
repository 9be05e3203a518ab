#!/usr/bin/env bash
# Start the PostgreSQL and Redis servers the tests use (Debian packages), if not running,
# and print the URLs to export. Needs root or the postgres user; .ci/run installs the packages.
set -euo pipefail
# TEST_DB_NAME / TEST_REDIS_DB let several test runs share the servers without touching each other.
DB_NAME="${TEST_DB_NAME:-hpf_test}"
PG_URL="postgresql://hpf:hpf@127.0.0.1:5432/$DB_NAME"
REDIS_URL="redis://127.0.0.1:6379/${TEST_REDIS_DB:-15}"

if ! command -v pg_lsclusters >/dev/null || ! command -v redis-server >/dev/null; then
  echo "error: PostgreSQL and Redis are needed by the tests: apt-get install postgresql redis-server (or run .ci/run)" >&2
  exit 1
fi
as_postgres() { if [[ $(id -u) == 0 ]]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }

cluster="$(pg_lsclusters -h | head -1)"
if [[ -z "$cluster" ]]; then
  version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  pg_createcluster "$version" main >&2
  cluster="$(pg_lsclusters -h | head -1)"
fi
read -r version name _port status _ <<<"$cluster"
[[ "$status" == online* ]] || pg_ctlcluster "$version" "$name" start >&2
for _ in $(seq 1 30); do as_postgres "psql -qtAc 'SELECT 1'" >/dev/null 2>&1 && break; sleep 0.5; done
as_postgres "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='hpf'\"" | grep -q 1 \
  || as_postgres "psql -qc \"CREATE ROLE hpf LOGIN SUPERUSER PASSWORD 'hpf'\"" >&2
as_postgres "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='$DB_NAME'\"" | grep -q 1 \
  || as_postgres "createdb -O hpf $DB_NAME" >&2

redis-cli -p 6379 ping >/dev/null 2>&1 || redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save '' >&2
for _ in $(seq 1 20); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done

echo "export TEST_POSTGRES_URL=$PG_URL TEST_REDIS_URL=$REDIS_URL"
