"""``motiontrack analyze`` on simulated protocol recordings against the simulator's truth.

60 sessions (seeds 0-19 × seated knee extension, squat, heel slide; 5 reps each; sensors
strapped at random orientations up to 180°; 1-1.5 % dropped samples), written as CSV and
analysed with the exact command ``analyze FILE --joint knee --proximal thigh --distal shank``
(no pose angle given). Criteria (issue 7): rep count exact, per-rep min/max within 3°.
Two starts: the session protocol's standing pose, and directly in the exercise's posture
(the resting angle is then assumed nominal; documented to miss the 3° on seated starts),
the latter also with ``--exercise`` (its posture is then detected, not assumed standing).

    python benchmarks/analyze_sim.py [--seeds 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_results

from motiontrack.analysis import process_recording
from motiontrack.errors import CalibrationError
from motiontrack.simulation import simulate_knee_session

EXERCISES = ("seated_knee_extension", "squat", "heel_slide")
TOL_DEG = 3.0


def one(
    exercise: str, seed: int, start_pose: str | None, folder: Path, given: bool = False
) -> dict[str, object]:
    drop = float(np.random.default_rng(seed).uniform(0.01, 0.015))
    s = simulate_knee_session(
        exercise, reps=5, seed=seed, drop_rate=drop, max_mount_deg=180.0, start_pose=start_pose
    )
    path = folder / f"{exercise}_{seed}_{start_pose}.csv"
    s.to_csv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = process_recording(
                path,
                joint="knee",
                proximal="thigh",
                distal="shank",
                exercise=exercise if given else None,
            )
        except CalibrationError as exc:
            return {
                "exercise": exercise,
                "seed": seed,
                "start": _label(start_pose, given),
                "count_ok": False,
                "worst_deg": float("inf"),
                "error": str(exc),
            }
    errs = [
        max(abs(r.min_deg - t.min_deg), abs(r.max_deg - t.max_deg))
        for r, t in zip(res.reps, s.truth.reps)
    ]
    return {
        "exercise": exercise,
        "seed": seed,
        "start": _label(start_pose, given),
        "count_ok": res.rep_count == len(s.truth.reps),
        "worst_deg": max(errs) if errs else float("inf"),
        "pose": res.pose,
    }


def _label(start_pose: str | None, given: bool) -> str:
    return (start_pose or "posture") + (" +--exercise" if given else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    a = p.parse_args(argv)
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for start, given in (("standing", False), (None, False), (None, True)):
            for ex in EXERCISES:
                for seed in range(a.seeds):
                    rows.append(one(ex, seed, start, Path(d), given))
    out = []
    for start in ("standing", "posture", "posture +--exercise"):
        for ex in EXERCISES:
            sel = [r for r in rows if r["start"] == start and r["exercise"] == ex]
            out.append(
                [
                    start,
                    ex,
                    f"{sum(r['count_ok'] for r in sel)}/{len(sel)}",
                    f"{sum(r['count_ok'] and r['worst_deg'] <= TOL_DEG for r in sel)}/{len(sel)}",
                    f"{max(r['worst_deg'] for r in sel):.2f}",
                ]
            )
    print(
        table(
            out, ["start", "exercise", "count exact", f"min/max within {TOL_DEG:g}°", "worst deg"]
        )
    )
    std = [r for r in rows if r["start"] == "standing"]
    ok = sum(r["count_ok"] and r["worst_deg"] <= TOL_DEG for r in std)
    print(
        f"\nstanding start: {ok}/{len(std)} sessions exact with min/max within {TOL_DEG:g}° "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    write_results("analyze_sim", rows)
    return 0 if ok == len(std) else 1


if __name__ == "__main__":
    raise SystemExit(main())
