#!/usr/bin/env bash
# Benchmarks that print their figures: scripts/bench.sh [retrieval|real_wording|latency|nlu|voice|wechat|console|callout|outreach_funnel|scale|load|recovery|all] [args…]
source "$(dirname "$0")/common.sh"
ensure_envs
which="${1:-all}"; shift || true
case "$which" in
  retrieval) "$SVC_PY" -m bench.retrieval "$@" ;;
  real_wording) "$SVC_PY" -m bench.real_wording "$@" ;;
  latency)   scripts/train.sh && "$SVC_PY" -m bench.latency "$@" ;;
  dialogues) scripts/train.sh && "$SVC_PY" -m bench.dialogues "$@" ;;
  nlu)       scripts/train.sh && bench/nlu.sh "$@" ;;
  voice)     scripts/train.sh && "$SVC_PY" -m bench.voice "$@" ;;
  wechat)    scripts/train.sh && "$SVC_PY" -m bench.wechat "$@" ;;
  console)   "$SVC_PY" -m bench.console "$@" ;;
  callout)   "$SVC_PY" -m bench.callout "$@" ;;
  outreach_funnel) "$SVC_PY" -m bench.outreach_funnel "$@" ;;
  ratings_analysis) "$SVC_PY" -m bench.ratings_analysis "$@" ;;
  scale)     "$SVC_PY" -m bench.scale "$@" ;;
  # Locust in its own environment (requirements/load.txt) against the production topology.
  # Recovery time for each fault on the production topology.
  recovery)  scripts/train.sh && "$SVC_PY" -m bench.recovery "$@" ;;
  load)      ensure_venv .venv-load 3.11 requirements/load.txt && scripts/train.sh && "$SVC_PY" -m bench.load "$@" ;;
  # Everything but scale, which wants 2.3 GB and ten minutes for its 100,000 chunks.
  all)       "$SVC_PY" -m bench.retrieval && scripts/train.sh && bench/nlu.sh && "$SVC_PY" -m bench.latency \
               && "$SVC_PY" -m bench.voice && "$SVC_PY" -m bench.wechat && "$SVC_PY" -m bench.console ;;
  *) echo "usage: scripts/bench.sh [retrieval|real_wording|latency|nlu|voice|wechat|console|callout|outreach_funnel|scale|load|recovery|all] [args…]" >&2; exit 2 ;;
esac
