"""Segment evaluation benchmark: the shipped segments over N synthetic depositors (default 1,000,000)
read from the documented export files (outreach.synthetic, generated once into --data and reused), each
run in a fresh process so its peak memory is its own. The baseline in the same run reads the same
people with no rule at all, so each rule's cost is a ratio over reading. The same is then done over the
first --small depositors' worth of files (default 100,000): peak memory that does not grow with N is
what streaming means.

    python -m bench.outreach_segments [--depositors 1000000] [--small 100000] [--data data/bench]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from core.settings import ROOT, Settings
from outreach.centre_data import open_source
from outreach.segments import evaluate, load_segments
from policy.loan_params import load_params

AS_OF = date(2026, 12, 1)
CASES: list[tuple[str, dict | None]] = [
    ("(baseline: read only)", None),
    ("repay-commercial-no-withdrawal", None),
    ("could-borrow", None),
    ("rate-change", {"old_rate": 2.85, "new_rate": 2.6, "kind": "hpf"}),
    ("employer-admins-policy", None),
    ("(baseline again: read only)", None),  # the machine's drift during the run, both ends
]


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(data: Path, key: str, event: dict | None) -> dict:
    """One pass in this process: rows, seconds, matches, and the peak memory it added."""
    settings = Settings(centre_data_dir=data, centre_data_url="")
    params = load_params(ROOT / "policy" / "params" / "loan.yml")
    rates = params.rate_entry(AS_OF)
    segments = load_segments(ROOT / "policy" / "segments", ROOT / "policy" / "params")
    source = open_source(settings)
    before = _maxrss_mb()
    started = time.perf_counter()
    rows = matched = 0
    if key.startswith("("):
        for _person in source.people():
            rows += 1
    else:
        segment = segments[key]
        for _match in evaluate(segment, source, params=params, rates=rates, secret="bench-secret", event=event,
                               today=AS_OF):
            matched += 1
        rows = _rows(data, segment.audience)
    seconds = time.perf_counter() - started
    return {"rows": rows, "matched": matched, "seconds": seconds, "peak_mb": _maxrss_mb() - before,
            "bad_rows": source.report.count}


def _rows(data: Path, audience: str) -> int:
    """The rows a segment read: depositors (with their loans), employers or assistants."""
    name = {"depositors": "depositors", "employer_admins": "employers", "assistants": "assistants"}[audience]
    with (data / f"{name}.csv").open("rb") as file:
        return sum(1 for _ in file) - 1


def generate(count: int, folder: Path) -> None:
    if (folder / "depositors.csv").exists():
        print(f"reusing {folder} ({count:,} depositors)")
        return
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "outreach.synthetic", "--depositors", str(count), "--out", str(folder),
                    "--months", "1", "--as-of", AS_OF.isoformat()], check=True, cwd=ROOT)
    print(f"generated {count:,} depositors into {folder} in {time.perf_counter() - started:.0f} s")


def run_case(folder: Path, key: str, event: dict | None) -> dict:
    answer = subprocess.run(
        [sys.executable, "-m", "bench.outreach_segments", "--child", str(folder), key, json.dumps(event)],
        check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outreach_segments", description=__doc__)
    parser.add_argument("--depositors", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder, key, event = args.child
        print(json.dumps(child(Path(folder), key, json.loads(event))))
        return 0
    results: dict[int, dict[str, dict]] = {}
    for count in (args.depositors, args.small):
        folder = args.data / f"centre-{count}"
        generate(count, folder)
        results[count] = {key: run_case(folder, key, event) for key, event in CASES}
    for count, cases in results.items():
        base = (cases[CASES[0][0]]["seconds"] + cases[CASES[-1][0]]["seconds"]) / 2
        print(f"\n{count:,} depositors (export files, one process per line)")
        print(f"{'segment':34} {'rows':>10} {'matched':>9} {'time s':>8} {'rows/s':>10} {'×read':>6} {'peak MB':>8}")
        for key, r in cases.items():
            print(f"{key:34} {r['rows']:>10,} {r['matched']:>9,} {r['seconds']:>8.1f} "
                  f"{r['rows'] / r['seconds']:>10,.0f} {r['seconds'] / base:>6.2f} {r['peak_mb']:>8.1f}")
    big, small = results[args.depositors], results[args.small]
    print("\n×read: the time over the mean of the two baselines of the same run")
    print(f"\npeak memory added, {args.small:,} vs {args.depositors:,} depositors (streams when about equal):")
    for key, _event in CASES:
        print(f"  {key:34} {small[key]['peak_mb']:>7.1f} MB  vs {big[key]['peak_mb']:>7.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
