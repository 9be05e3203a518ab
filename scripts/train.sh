#!/usr/bin/env bash
# Train the Rasa model only when its inputs (pipeline, domain, data, dictionary) changed.
source "$(dirname "$0")/common.sh"
MODEL_DIR="$ROOT/bot/models"
fingerprint="$(cat config.yml bot/domain.yml $(find bot/data bot/dictionary -type f | sort) | sha256sum | cut -c1-16)"
if [[ -f "$MODEL_DIR/hpf.tar.gz" && "$(cat "$MODEL_DIR/.fingerprint" 2>/dev/null)" == "$fingerprint" && "${1:-}" != "--force" ]]; then
  echo "==> Rasa model up to date" >&2
  exit 0
fi
echo "==> training the Rasa model (about two minutes)" >&2
mkdir -p "$MODEL_DIR"
"$BOT_BIN/rasa" train --config config.yml --domain bot/domain.yml --data bot/data \
  --out "$MODEL_DIR" --fixed-model-name hpf >&2
echo "$fingerprint" > "$MODEL_DIR/.fingerprint"
