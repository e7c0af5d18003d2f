"""The arguments of ``motiontrack calibrate`` (the command runs in :mod:`motiontrack.cli._calibrate`).

Light (argparse only), so that building the parser, and ``motiontrack --help``, imports
no sub-command; ``motiontrack.cli`` imports ``_calibrate`` only to run the command.
"""

from __future__ import annotations

import argparse

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_calibrate"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "calibrate",
        help="sensor calibration (gyro bias, accelerometer six-face, magnetometer) from a recording",
        description=(
            "Estimate sensor calibrations from a recording (.mtrec or long-form CSV) and write them "
            "as JSON. --gyro: the sensor lay still (>= 3 s; the longest still stretch is used). "
            "--six-face: the sensor rested still on each of its six faces (>= 2 s each). "
            "--mag: the sensor was rotated through all orientations. Without a choice, --gyro. "
            "See calibration/*.md for the procedures."
        ),
    )
    p.add_argument("file", nargs="?", help="recording: .mtrec or CSV (time_s,sensor,acc_x..gyr_z[,mag_x..mag_z])")
    p.add_argument("--live", metavar="SOURCE",
                   help="guided live calibration of one sensor: ble:ADDRESS, sim:NAME or replay:PATH")
    p.add_argument("--rest-s", type=float, default=10.0, metavar="S",
                   help="--live --gyro: how long the sensor must lie still (default 10 s; at least 3). "
                        "With replay:PATH, a recording too short for it asks for the rest it holds "
                        "(its length less 0.25 s of settling), down to 3 s, and says so on stderr")
    p.add_argument("--step-timeout", type=float, default=120.0, metavar="S",
                   help="--live: give up on a step after this many seconds of data (default 120)")
    p.add_argument("--sensor", action="append", metavar="NAME",
                   help="calibrate this sensor (repeatable; default: every sensor in the file)")
    p.add_argument("--gyro", action="store_true", help="gyroscope bias from the still part")
    p.add_argument("--six-face", action="store_true", dest="six_face", help="accelerometer six-face")
    p.add_argument("--mag", action="store_true", help="magnetometer hard and soft iron")
    p.add_argument("--field-ut", type=float, metavar="UT",
                   help="local magnetic field magnitude in µT (e.g. from WMM); default: fitted")
    p.add_argument("-o", "--output", metavar="JSON",
                   help="calibration file to write (default: FILE with suffix .calibration.json; "
                        "with --live: calibration.json)")
    p.add_argument("--update", action="store_true",
                   help="merge into an existing output file (keep other sensors and parts)")
    p.add_argument("--json", action="store_true", help="print one JSON summary object on stdout")
    return p
