"""Acceptance 1 of issue 14: every body-region preset on simulated sessions with ground truth.

Per preset and sensor mode, ``--seeds`` seeded sessions of 8 reps
(:func:`motiontrack.simulation.regions.simulate_region_session`): sensors at random
orientations on their segments (any rotation), soft-tissue shift and 11 Hz wobble, a
constant gyroscope bias uniform in ±2 °/s per axis (plus noise and bias walk), the proximal
segment following the motion by its rhythm and swaying ~1.5°. Each session goes through
``motiontrack.analyze`` (the one session engine) with the preset as ``exercise``.

Modes: ``1s`` = the distal sensor alone (angle against gravity / start heading; truth: the
same definition on the true segment), ``2s`` = distal and proximal (joint angle; truth: the
simulated joint rotation). ``6D`` without, ``9D`` with magnetometers. ``-anti``: two sensors
with the proximal segment tilting against the region's rhythm (``regions.RHYTHM``, tilt
presets only), reported in a table of their own: the normal two-sensor 6D rows are simulated
with the very rhythm the engine assumes where 6D cannot observe the relative direction (a
``proximal_tilt`` warning), so they are optimistic; the ``-anti`` rows show what a patient
moving the other way gets, and whether each miss came with that warning ("rhythm warned",
"unwarned miss": a miss without it).

Criteria per session: primary-angle RMSE <= 2° (after the still pose), per-rep extreme
(min and max) error <= 3°, rep count exact. The table gives how many sessions pass each and
the worst values.

    .venv/bin/python benchmarks/regions.py [--seeds 20] [--exercise NAME ...] [--modes MODE ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_results

from motiontrack._progress import track
from motiontrack.analysis import process_recording
from motiontrack.exercise import ExerciseSettings
from motiontrack.exercise.regions import REGION_EXERCISES
from motiontrack.simulation.regions import simulate_region_session

MODES = ("1s-6D", "1s-9D", "2s-6D", "2s-9D")
#: Two sensors with the proximal segment tilting against the region's rhythm (tilt presets):
#: 6D must then warn ("proximal_tilt") where it assumed the rhythm; reported separately.
ANTI = ("2s-6D-anti", "2s-9D-anti")


def evaluate(exercise: str, seed: int, mode: str, reps: int = 8) -> dict[str, float | int | str]:
    """One simulated session through ``analyze``: RMSE, worst per-rep extreme error, counts."""
    two, mag, anti = mode.startswith("2s"), "9D" in mode, mode.endswith("-anti")
    s = simulate_region_session(exercise, reps=reps, seed=seed, proximal=two, with_mag=mag,
                                against_rhythm=anti)
    r = process_recording(s.to_recording(), exercise=exercise,
                          settings=ExerciseSettings(magnetometer=mag))
    truth = s.truth.joint_deg if two else s.truth.segment_deg
    est = np.interp(s.t, r.t, r.primary_deg, left=np.nan, right=np.nan)
    m = np.isfinite(est) & (s.t > s.truth.calib_s)
    err = est[m] - truth[m]
    ext = []
    for a, b in s.truth.reps:
        w = (s.t >= a - 0.5) & (s.t <= b + 0.5)
        near = [rep for rep in r.reps if rep.start_s < b and rep.end_s > a]
        if not near:
            continue
        rep = near[0]
        ext.append(max(abs(rep.min_deg - truth[w].min()), abs(rep.max_deg - truth[w].max())))
    return {
        "exercise": exercise, "seed": seed, "mode": mode,
        "rmse_deg": float(np.sqrt(np.mean(err**2))) if err.size else float("nan"),
        "rep_extreme_err_deg": float(max(ext)) if ext else float("nan"),
        "count": r.rep_count, "true_count": len(s.truth.reps),
        "warnings": len(r.warnings),
        "rhythm_assumed": any("not observable in this movement" in w for w in r.warnings),
    }


def summarize(rows: list[dict]) -> list[tuple]:
    out = []
    order = MODES + ANTI
    keys = sorted({(r["exercise"], r["mode"]) for r in rows},
                  key=lambda k: (list(REGION_EXERCISES).index(k[0]), order.index(k[1])))
    for ex, mode in keys:
        rs = [r for r in rows if r["exercise"] == ex and r["mode"] == mode]
        rm = np.array([r["rmse_deg"] for r in rs])
        ee = np.array([r["rep_extreme_err_deg"] for r in rs])
        cnt = sum(r["count"] == r["true_count"] for r in rs)
        ok = sum((a <= 2.0) and (b <= 3.0) and (r["count"] == r["true_count"])
                 for a, b, r in zip(rm, ee, rs))
        out.append((REGION_EXERCISES[ex].region, ex, mode, len(rs),
                    f"{np.sum(rm <= 2.0)}/{len(rs)}", round(float(np.nanmedian(rm)), 2),
                    round(float(np.nanmax(rm)), 2), f"{np.sum(ee <= 3.0)}/{len(rs)}",
                    round(float(np.nanmax(ee)), 2), f"{cnt}/{len(rs)}", f"{ok}/{len(rs)}",
                    f"{sum(bool(r.get('rhythm_assumed')) for r in rs)}/{len(rs)}",
                    sum(not ((a <= 2.0) and (b <= 3.0) and (r["count"] == r["true_count"]))
                        and not r.get("rhythm_assumed") for a, b, r in zip(rm, ee, rs))))
    return out


HEADER = ("region", "preset", "mode", "n", "RMSE<=2", "RMSE med", "RMSE max", "ext<=3",
          "ext max", "count ok", "all ok", "rhythm warned", "unwarned miss")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--exercise", nargs="*", default=list(REGION_EXERCISES))
    p.add_argument("--modes", nargs="*", default=list(MODES + ANTI),
                   help=f"of {', '.join(MODES + ANTI)}")
    args = p.parse_args(argv)
    jobs = [(e, s, m) for e in args.exercise for m in args.modes for s in range(args.seeds)
            if not (m in ANTI and REGION_EXERCISES[e].axis == "y")]
    rows = []
    for e, s, m in track(jobs, desc="regions"):
        try:
            rows.append(evaluate(e, s, m))
        except Exception as exc:  # noqa: BLE001 - a failed session is a row, not a crash
            rows.append({"exercise": e, "seed": s, "mode": m, "rmse_deg": float("nan"),
                         "rep_extreme_err_deg": float("nan"), "count": -1, "true_count": 8,
                         "error": f"{type(exc).__name__}: {exc}"})
    summary = summarize(rows)
    print(table([r for r in summary if r[2] in MODES], HEADER))
    anti = [r for r in summary if r[2] in ANTI]
    if anti:
        print("\nAgainst the rhythm (the proximal segment tilts the other way; tilt presets): "
              "6D assumes the rhythm where the relative direction is not observable, so it must "
              "warn there")
        print(table(anti, HEADER))
    for r in rows:
        if "error" not in r and r["mode"] in MODES and not (
                r["rmse_deg"] <= 2.0 and r["rep_extreme_err_deg"] <= 3.0
                and r["count"] == r["true_count"]):
            print(f"miss: {r['exercise']} {r['mode']} seed {r['seed']}: RMSE {r['rmse_deg']:.2f}, "
                  f"extreme {r['rep_extreme_err_deg']:.2f}, count {r['count']}/{r['true_count']}")
    failed = [r for r in rows if "error" in r]
    for r in failed[:10]:
        print("failed:", r["exercise"], r["mode"], r["seed"], r["error"])
    write_results("regions", rows, summary=[dict(zip(HEADER, s)) for s in summary])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
