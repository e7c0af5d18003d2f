"""The arguments of ``motiontrack record`` (the command runs in :mod:`motiontrack.cli._record`).

Light (argparse only), so that building the parser, and ``motiontrack --help``, imports
no sub-command; ``motiontrack.cli`` imports ``_record`` only to run the command.
"""

from __future__ import annotations

import argparse

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_record"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "record",
        help="record sensors to a .mtrec file (raw packets, samples, calibration, events)",
        description=(
            "Record one or two sensors while showing the live angle and reps. Sources: "
            "ble:ADDRESS, sim:NAME (virtual sensor), optionally named NAME=SOURCE "
            "(e.g. thigh=ble:AA:BB:CC:DD:EE:FF). The file is written append-only and fsync'd every "
            "second (a crash loses at most the last second); it is readable only by you (0600). "
            "Stop with Ctrl-C or --seconds."
        ),
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument(
        "-o", "--output", required=True, metavar="FILE",
        help="new .mtrec file (an existing file is an error unless --overwrite)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace FILE if it exists (its old contents are lost)"
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=0.0,
        help="stop after this many seconds (default: until Ctrl-C)",
    )
    p.add_argument(
        "--exercise", metavar="NAME", help="exercise (rep-counter preset and start pose)"
    )
    p.add_argument("--joint", default="knee", choices=("knee", "elbow", "hinge", "hip", "shoulder"))
    p.add_argument(
        "--calibration",
        default="auto",
        choices=("auto", "guided", "none"),
        help="sensor-to-segment calibration at the start (default auto)",
    )
    p.add_argument(
        "--sensor-calibration",
        metavar="JSON",
        help="sensor calibration file (gyro bias, accelerometer, magnetometer) applied before fusion",
    )
    p.add_argument("--json", action="store_true", help="print events as JSON lines")
    p.add_argument("--quiet", action="store_true", help="no live view")
    return p
