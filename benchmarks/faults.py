"""The fault matrix (issue 13): simulated knee sessions with ground truth, each damaged one
way, analysed through the long-form CSV as a user would, judged case by case.

One row per case and seed: what motiontrack reported, the truth, the verdict. Required of
every case: zero invented reps, zero angles where a segment is unknown beyond the 0.25 s
bridge, counts exact outside interrupted spans, a clear message for every degraded case
(the criteria in :mod:`motiontrack.bench.faults`). The same matrix runs in
``tests/test_faults.py``.

    python benchmarks/faults.py [--seeds 3] [--reps 16]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_results

from motiontrack.bench.faults import CASES, run_case


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=16)
    args = ap.parse_args(argv)
    rows = []
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        for case in CASES:
            v = run_case(case, seed=seed, reps=args.reps)
            rows.append({
                "case": case.name, "seed": seed, "fault": case.what, "reported": v.reported,
                "truth": v.truth,
                "rmse_deg": "-" if math.isnan(v.rmse_deg) else f"{v.rmse_deg:.2f}",
                "verdict": "pass" if v.ok else "FAIL: " + "; ".join(v.problems),
            })
    cols = ["case", "seed", "reported", "truth", "rmse_deg", "verdict"]
    print(table([[r[c] for c in cols] for r in rows], cols))
    failed = [r for r in rows if r["verdict"] != "pass"]
    print(f"\n{len(CASES)} cases x {args.seeds} seeds: {len(rows) - len(failed)} pass, "
          f"{len(failed)} fail ({time.perf_counter() - t0:.0f} s)")
    write_results("faults", {"rows": rows, "cases": len(CASES), "seeds": args.seeds})
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
