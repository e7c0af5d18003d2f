"""Acceptance 1 of issue 6: rep counts on the physical-therapy dataset (Yurtman & Barshan 2014).

One configuration for all 24 sessions: per exercise *type* a sensor (chosen from the placement
description in ../shared/data/README.md, never per subject or file) and a preset; counting in
single-sensor mode (gyroscope + accelerometer of that one unit, dominant axis found online).
Each test session holds 30 reps by protocol (10 correct, 10 too fast, 10 low-amplitude).

    /tmp/venv/bin/python benchmarks/reps_real.py [--data DIR] [--verbose]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from motiontrack.reps import count_reps, summarize

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = Path(os.environ.get("MOTIONTRACK_DATA", HERE.parent.parent / "shared" / "data"))

#: exercise -> (unit id 1..5, preset, why). Units: 2 = shank (legs) / forearm (arms),
#: 3 = thigh (legs) / upper arm (arms), 4 = other thigh (legs) / shoulder (arms), 5 = chest.
EXERCISE_SETUP: dict[int, tuple[int, str, str]] = {
    1: (2, "knee_extension", "knee extension: the shank swings, the thigh rests"),
    2: (4, "trunk_lean", "trunk lean: README measured unit 4 carries the motion"),
    3: (2, "leg_raise", "bent-leg raise: the shank (distal) carries hip and knee motion"),
    4: (2, "straight_leg_raise", "straight-leg raise: the whole leg, seen best distally"),
    5: (2, "leg_raise", "straight-leg raise variant: the whole leg, seen best distally"),
    6: (2, "biceps_curl", "biceps curl: the forearm rotates about the elbow"),
    7: (2, "arm_raise", "arm raise: the whole arm, seen best at the forearm"),
    8: (2, "pendulum", "pendulum circles: the forearm (hand end) swings most"),
}
TRUE_COUNT = 30


def count_session(path: Path, setup: dict[int, tuple[int, str, str]] = EXERCISE_SETUP
                  ) -> tuple[int, list]:
    d = np.load(path)
    e = int(path.stem.split("_e")[1])
    unit, preset, _ = setup[e]
    i = list(d["unit_ids"]).index(unit)
    gyr = d["test_gyr_rad_s"][:, i].astype(np.float64)
    acc = d["test_acc_m_s2"][:, i].astype(np.float64)
    reps = count_reps(gyroscope=gyr, accelerometer=acc, fs=float(d["fs_hz"]), preset=preset)
    return len(reps), reps


def flag_table(files: list[Path], setup: dict[int, tuple[int, str, str]]) -> np.ndarray:
    """Quality flags against the third-party rep labels of subject 1 (rough check).

    Each counted rep is matched to the labelled rep it overlaps most. Returns a (3, 3) array:
    rows execution type (correct, too fast, low amplitude), columns (matched reps, flagged
    TOO_FAST, flagged partial).
    """
    table = np.zeros((3, 3))
    for f in files:
        d = np.load(f)
        if "test_reps_thirdparty_num_type_start_end" not in d:
            continue
        fs = float(d["fs_hz"])
        labels = d["test_reps_thirdparty_num_type_start_end"]
        _, reps = count_session(f, setup)
        for r in reps:
            overlap = [max(0.0, min(r.end_s, b[3] / fs) - max(r.start_s, b[2] / fs)) for b in labels]
            j = int(np.argmax(overlap))
            if overlap[j] > 0:
                table[int(labels[j, 1]) - 1] += [1, r.too_fast, r.partial]
    return table


def count_templates(files: list[Path], setup: dict[int, tuple[int, str, str]]) -> list[int]:
    """Held-out check: the template sessions (3 reps of each type = 9 by protocol)."""
    counts = []
    for f in files:
        d = np.load(f)
        e = int(f.stem.split("_e")[1])
        unit, preset, _ = setup[e]
        i = list(d["unit_ids"]).index(unit)
        reps = count_reps(gyroscope=d["template_gyr_rad_s"][:, i].astype(np.float64),
                          accelerometer=d["template_acc_m_s2"][:, i].astype(np.float64),
                          fs=float(d["fs_hz"]), preset=preset)
        counts.append(len(reps))
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--verbose", action="store_true", help="print each session's set summary")
    ap.add_argument("--unit", action="append", default=[], metavar="E=U",
                    help="explore: count exercise E from unit U instead (per exercise type)")
    args = ap.parse_args(argv)
    setup = dict(EXERCISE_SETUP)
    for item in args.unit:
        e, u = (int(v) for v in item.split("="))
        setup[e] = (u,) + setup[e][1:]
    pt = args.data / "physical_therapy_exercises"
    files = sorted(pt.glob("s*_e*.npz"))
    if not files:
        print(f"no sessions in {pt}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    rows = []
    for f in files:
        n, reps = count_session(f, setup)
        rows.append((f.stem, n))
        if args.verbose:
            s = summarize(reps)
            print(f"  {f.stem}: rom {s.rom_mean_deg:.1f}±{s.rom_sd_deg:.1f} deg, "
                  f"dur {s.duration_mean_s:.2f}±{s.duration_sd_s:.2f} s, "
                  f"fast {s.n_too_fast}, partial {s.n_partial}")
    elapsed = time.perf_counter() - t0
    print(f"{'session':10s} {'unit':>4s} {'preset':>18s} {'count':>5s} {'true':>4s} {'error':>5s}")
    for stem, n in rows:
        e = int(stem.split("_e")[1])
        unit, preset, _ = setup[e]
        print(f"{stem:10s} {unit:4d} {preset:>18s} {n:5d} {TRUE_COUNT:4d} {n - TRUE_COUNT:+5d}")
    err = np.array([n - TRUE_COUNT for _, n in rows])
    exact = float(np.mean(err == 0))
    mae = float(np.mean(np.abs(err)))
    print(f"exact: {int(np.sum(err == 0))}/{len(err)} = {100 * exact:.1f} %  (target >= 80 %)")
    print(f"mean absolute error: {mae:.3f} reps  (target <= 0.5)")
    print(f"within ±1: {100 * np.mean(np.abs(err) <= 1):.1f} %; time {elapsed:.1f} s (incl. compile)")
    tpl = np.array(count_templates(files, setup)) - 9
    print(f"held-out template sessions (9 reps each): exact {int(np.sum(tpl == 0))}/{tpl.size}, "
          f"MAE {np.mean(np.abs(tpl)):.3f}, errors {tpl.tolist()}")
    tab = flag_table(files, setup)
    if tab[:, 0].sum():
        print("quality flags vs third-party labels (s1 only): type: reps, flagged too fast, flagged partial")
        for name, row in zip(("correct", "too fast", "low amplitude"), tab):
            print(f"  {name:13s} {int(row[0]):3d}  {int(row[1]):3d} ({100 * row[1] / row[0]:.0f} %)"
                  f"  {int(row[2]):3d} ({100 * row[2] / row[0]:.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
