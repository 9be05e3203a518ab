#!/usr/bin/env bash
# Restore a backup made by scripts/backup.sh into a database (existing objects are replaced). Stop the
# service instances first; start them again after (they check the schema version at start).
#   scripts/restore.sh [--url postgresql://…] FILE      (default: DATABASE_URL)
set -euo pipefail
url="${DATABASE_URL:-}"
if [[ "${1:-}" == "--url" ]]; then url="$2"; shift 2; fi
[[ -n "$url" && -n "${1:-}" ]] || { echo "usage: scripts/restore.sh [--url postgresql://…] FILE" >&2; exit 2; }
url="$(sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#' <<<"$url")"
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$url" "$1"
