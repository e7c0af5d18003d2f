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

from motiontrack.analysis import process_recording
from motiontrack.exercise import ExerciseSettings
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
    if len(names) != 2:
        raise SystemExit(f"export_opensim: give two sensors (--map), the file has {', '.join(rec.names)}")
    # the session engine's own resampling and fusion: one time grid (the first sensor's),
    # gaps left as gaps; no joint calibration is needed for orientations
    res = process_recording(rec, proximal=names[0], distal=names[1],
                            settings=ExerciseSettings(calibration="none"))
    t, fs = res.t, res.fs_hz
    orientations = {mapping.get(n, n): res.orientations[n] for n in names}
    write_sto(args.output, t - t[0], orientations, to_opensim=args.opensim_frame)
    print(
        f"wrote {args.output}: {t.size} rows at {fs:.1f} Hz, columns {', '.join(f'{k}_imu' for k in orientations)}"
    )
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
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
