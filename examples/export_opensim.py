"""Export a recording to OpenSim (OpenSense) orientation tables.

Fuses each sensor of a recording and writes an ``.sto`` orientation table that
OpenSim's IMU placer and IMU inverse kinematics read (columns ``<body>_imu``, quaternions
``w,x,y,z``). Sensor names are mapped to OpenSim bodies with ``--map thigh=femur_r``.
Without a file it simulates a squat session::

    python examples/export_opensim.py -o squat_orientations.sto
    python examples/export_opensim.py set1.mtrec --map thigh=femur_r --map shank=tibia_r -o set1.sto

Frames: by default the table keeps motiontrack's ENU earth frame (z up); set the IMU
placer's ``sensor_to_opensim_rotations`` to ``-1.5707963 0 0``. With ``--opensim-frame``
the rotation to OpenSim's y-up ground is applied here instead.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import numpy as np

from motiontrack import fuse
from motiontrack.analysis import resample
from motiontrack.io import load, write_sto

log = logging.getLogger("export_opensim")


def main(args: argparse.Namespace) -> int:
    path = args.file
    if path is None:
        from motiontrack.simulation import simulate_knee_session

        sim = simulate_knee_session("squat", reps=3, seed=1, with_mag=False)
        path = str(Path(tempfile.mkdtemp()) / "simulated.csv")
        sim.to_csv(path)
    rec = load(path)
    mapping = (
        dict(m.split("=", 1) for m in args.map)
        if args.map
        else {"thigh": "femur_r", "shank": "tibia_r"}
    )
    names = [n for n in rec.names if n in mapping] or rec.names
    # one common time grid (the first sensor's rate) over the time all sensors overlap
    fs = rec.sensors[names[0]].fs
    start = max(rec.sensors[n].t[0] for n in names)
    end = min(rec.sensors[n].t[-1] for n in names)
    t = start + np.arange(int((end - start) * fs) + 1) / fs
    orientations = {}
    for n in names:
        acc, gyr, _ = resample(rec.sensors[n], t, 0.25)
        orientations[mapping.get(n, n)] = fuse(acc, gyr, fs=fs)
    write_sto(args.output, t - t[0], orientations, to_opensim=args.opensim_frame)
    print(
        f"wrote {args.output}: {t.size} rows at {fs:.1f} Hz, columns {', '.join(f'{k}_imu' for k in orientations)}"
    )
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "file", nargs="?", help="recording (.mtrec or CSV); default: a simulated session"
    )
    p.add_argument("-o", "--output", default="orientations.sto", help="output .sto file")
    p.add_argument(
        "--map", action="append", metavar="SENSOR=BODY", help="sensor name to OpenSim body name"
    )
    p.add_argument(
        "--opensim-frame",
        action="store_true",
        help="rotate the world frame to OpenSim's y-up ground",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING)
    raise SystemExit(main(a))
