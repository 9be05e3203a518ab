#!/usr/bin/env bash
# A backup of a PostgreSQL database of the system (the service's by default; Rasa's trackers with
# --url): pg_dump's custom format, one file, restorable with scripts/restore.sh.
#   scripts/backup.sh [--url postgresql://…] [FILE]     (default: DATABASE_URL, backup-<UTC time>.dump)
set -euo pipefail
url="${DATABASE_URL:-}"
if [[ "${1:-}" == "--url" ]]; then url="$2"; shift 2; fi
[[ -n "$url" ]] || { echo "error: set DATABASE_URL or pass --url postgresql://…" >&2; exit 2; }
url="$(sed -E 's#^postgres(ql)?(\+[a-z0-9]+)?://#postgresql://#' <<<"$url")"  # SQLAlchemy's driver suffix off
out="${1:-backup-$(date -u +%Y%m%dT%H%M%SZ).dump}"
pg_dump --format=custom --no-owner --no-privileges --dbname="$url" --file="$out"
echo "$out"
