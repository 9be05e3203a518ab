#!/usr/bin/env bash
# Rasa's own NLU evaluation on the held-out set (written apart from the training data). Short replies
# ("你好", "30万", "是的") are bound to recur in the training data: those are left out, so every figure is
# on text the model never saw.
source "$(dirname "$0")/../scripts/common.sh"
out="${1:-$ROOT/data/bench/nlu}"
mkdir -p "$out"
"$SVC_PY" - bot/tests/nlu_holdout.yml bot/data/nlu.yml "$out/holdout_unseen.yml" <<'PY'
import re, sys
import yaml

def examples(path):
    for block in yaml.safe_load(open(path, encoding="utf-8"))["nlu"]:
        if "intent" in block:
            for line in block["examples"].splitlines():
                if line.strip():
                    yield block["intent"], line.strip()[2:].strip()

def plain(text):
    return re.sub(r"[\s？?，,。！!、~～.]", "", text)

seen = {plain(text) for _, text in examples(sys.argv[2])}
kept: dict[str, list[str]] = {}
left_out = 0
for intent, text in examples(sys.argv[1]):
    if plain(text) in seen:
        left_out += 1
    else:
        kept.setdefault(intent, []).append(text)
blocks = [{"intent": i, "examples": "".join(f"- {t}\n" for t in texts)} for i, texts in kept.items()]
yaml.safe_dump({"version": "3.1", "nlu": blocks}, open(sys.argv[3], "w", encoding="utf-8"), allow_unicode=True)
print(f"held-out set: {sum(map(len, kept.values()))} examples tested, {left_out} left out (also in the training data)")
PY
"$BOT_BIN/rasa" test nlu --nlu "$out/holdout_unseen.yml" -m bot/models/hpf.tar.gz --out "$out" >"$out/rasa.log" 2>&1
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
