#!/usr/bin/env bash
# Rasa's own NLU evaluation on the held-out set (written apart from the training data).
source "$(dirname "$0")/../scripts/common.sh"
out="${1:-$ROOT/data/bench/nlu}"
mkdir -p "$out"
"$BOT_BIN/rasa" test nlu --nlu bot/tests/nlu_holdout.yml -m bot/models/hpf.tar.gz --out "$out" >"$out/rasa.log" 2>&1
"$SVC_PY" - "$out/intent_report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"held-out NLU: accuracy {report['accuracy']:.1%}, macro F1 {report['macro avg']['f1-score']:.3f}, "
      f"weighted F1 {report['weighted avg']['f1-score']:.3f}")
print(f"{'intent':<22} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>4}")
for intent, row in sorted(report.items()):
    if isinstance(row, dict) and "support" in row and intent not in ("macro avg", "weighted avg", "micro avg"):
        print(f"{intent:<22} {row['precision']:>9.2f} {row['recall']:>7.2f} {row['f1-score']:>6.2f} {row['support']:>4}")
PY
