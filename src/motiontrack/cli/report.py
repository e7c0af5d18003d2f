"""The arguments of ``motiontrack report`` (the command runs in :mod:`motiontrack.cli._report`).

Light (argparse only), so that building the parser, and ``motiontrack --help``, imports
no sub-command; ``motiontrack.cli`` imports ``_report`` only to run the command.
"""

from __future__ import annotations

import argparse

from ..conventions import JOINT_CHOICES

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_report"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="HTML report of a recording, or progress across several (ROM, reps, quality)",
        description=(
            "Analyse a recording (as `motiontrack analyze`) and write a self-contained HTML report "
            "(readable on a phone, printable). Several recordings give a progress report: ROM, "
            "repetitions and their quality by session, in time order."
        ),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="recording(s): .mtrec or CSV")
    p.add_argument("-o", "--output", required=True, metavar="HTML", help="report file to write")
    p.add_argument("--title", help="report title")
    p.add_argument("--joint", choices=JOINT_CHOICES)
    p.add_argument("--proximal", metavar="NAME")
    p.add_argument("--distal", metavar="NAME")
    p.add_argument("--segment", metavar="NAME")
    p.add_argument("--exercise", metavar="NAME")
    p.add_argument("--pose", choices=("standing", "seated", "supine"))
    p.add_argument(
        "--pose-flexion",
        type=float,
        metavar="DEG",
        help="joint flexion measured in the still pose (goniometer); default: the pose's nominal value",
    )
    p.add_argument(
        "--side", choices=("right", "left"), help="exercised side (default: right, said so)"
    )
    p.add_argument(
        "--target",
        type=float,
        metavar="DEG",
        help="prescribed angle to reach at each rep's turning point (default: the exercise's "
        "common goal, if it has one)",
    )
    p.add_argument(
        "--sensor-calibration",
        metavar="JSON",
        help="sensor calibration file (gyro bias, accelerometer, magnetometer) to apply first",
    )
    p.add_argument(
        "--recover", action="store_true", help="use the intact part of a damaged .mtrec file"
    )
    return p
