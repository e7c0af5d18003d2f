"""Count repetitions with a single sensor.

One IMU on a moving segment is enough to count reps: the dominant rotation axis is
found automatically, so the sensor may be strapped at any orientation. Reads a recording
(any one sensor of it) or, without a file, simulates a squat session and uses the thigh
sensor alone::

    python examples/single_sensor_reps.py                      # simulated, thigh sensor
    python examples/single_sensor_reps.py set1.csv --sensor shank --exercise seated_knee_extension
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from motiontrack.analysis import process_recording

log = logging.getLogger("single_sensor_reps")


def main(args: argparse.Namespace) -> int:
    path = args.file
    if path is None:
        from motiontrack.simulation import simulate_knee_session

        sim = simulate_knee_session(args.exercise, reps=6, seed=args.seed, max_mount_deg=180.0)
        path = str(Path(tempfile.mkdtemp()) / "simulated.csv")
        sim.to_csv(path)
        print(f"simulated {args.exercise}: {len(sim.truth.reps)} true reps")
    res = process_recording(path, segment=args.sensor, exercise=args.exercise)
    print(f"{res.rep_count} reps counted from the {args.sensor} sensor alone")
    for i, r in enumerate(res.reps):
        print(f"rep {i + 1}: {r.start_s:6.2f} .. {r.end_s:6.2f} s, rotation {r.rom_deg:5.1f} deg")
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    p.add_argument(
        "file", nargs="?", help="recording (.mtrec or CSV); default: a simulated session"
    )
    p.add_argument("--sensor", default="thigh", help="sensor name in the recording (default thigh)")
    p.add_argument("--exercise", default="squat")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING)
    raise SystemExit(main(a))
