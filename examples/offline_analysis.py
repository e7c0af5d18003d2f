"""Offline analysis of a recording: knee angles, reps, ROM and gaps.

Reads a native ``.mtrec`` recording or a long-form CSV (``time_s,sensor,acc_x..gyr_z``),
calibrates the sensors to the body automatically, and prints every repetition. Without a
file it simulates a squat session with ground truth, so the printout can be checked::

    python examples/offline_analysis.py                        # simulated session
    python examples/offline_analysis.py set1.mtrec --exercise squat --angles-out angles.csv
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from motiontrack.analysis import process_recording
from motiontrack.io import write_angles_csv

log = logging.getLogger("offline_analysis")


def main(args: argparse.Namespace) -> int:
    truth = None
    path = args.file
    if path is None:
        from motiontrack.simulation import simulate_knee_session

        sim = simulate_knee_session(
            args.exercise, reps=5, seed=args.seed, drop_rate=0.01, max_mount_deg=90.0
        )
        path = str(Path(tempfile.mkdtemp()) / "simulated.csv")
        sim.to_csv(path)
        truth = sim.truth.reps
        log.info("simulated %s session written to %s", args.exercise, path)
    res = process_recording(
        path, joint="knee", proximal="thigh", distal="shank", exercise=args.exercise
    )
    print(f"{res.rep_count} reps in {res.duration_s:.1f} s ({len(res.gaps)} data gaps)")
    for i, r in enumerate(res.reps):
        line = f"rep {i + 1}: min {r.min_deg:6.1f}  max {r.max_deg:6.1f}  ROM {r.rom_deg:6.1f} deg  {r.duration_s:.1f} s"
        if truth is not None and i < len(truth):
            line += f"   (truth: {truth[i].min_deg:6.1f} .. {truth[i].max_deg:6.1f})"
        print(line)
    if truth is not None:
        print(f"truth: {len(truth)} reps")
    for w in res.warnings:
        print("warning:", w)
    if args.angles_out:
        write_angles_csv(args.angles_out, res.t, res.angles)
        print(f"angles written to {args.angles_out}")
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    p.add_argument(
        "file", nargs="?", help="recording (.mtrec or CSV); default: a simulated session"
    )
    p.add_argument("--exercise", default="squat")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated session")
    p.add_argument("--angles-out", help="write the knee angles to this CSV")
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING)
    raise SystemExit(main(a))
