"""The arguments of ``motiontrack replay`` (the command runs in :mod:`motiontrack.cli._replay`).

Light (argparse only), so that building the parser, and ``motiontrack --help``, imports
no sub-command; ``motiontrack.cli`` imports ``_replay`` only to run the command.
"""

from __future__ import annotations

import argparse

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_replay"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "replay",
        help="play a recording (.mtrec or CSV) through the live pipeline",
        description="Replay a recording at real time (or --speed) through the same Session code as live sensors.",
    )
    p.add_argument("file", help="recording (.mtrec or CSV)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = real time, 0 = as fast as possible (default 1)",
    )
    p.add_argument("--exercise", metavar="NAME")
    p.add_argument("--joint", default="knee", choices=("knee", "elbow", "hinge", "hip", "shoulder"))
    p.add_argument("--proximal", metavar="NAME")
    p.add_argument("--distal", metavar="NAME")
    p.add_argument("--segment", metavar="NAME", help="count reps from this one sensor")
    p.add_argument("--calibration", default="auto", choices=("auto", "guided", "none"))
    p.add_argument(
        "--recover", action="store_true", help="use the intact part of a damaged .mtrec file"
    )
    p.add_argument(
        "--sensor-calibration",
        metavar="JSON",
        help="sensor calibration file (gyro bias, accelerometer, magnetometer) applied before fusion",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help=(
            "JSON Lines on stdout: one compact JSON object per line, each with a 'type': the "
            "session's events (no angle updates), 'session_ended' exactly once, then one last "
            "line of type 'replay_summary' (file, rep_count, reps, calibrated, dropped_events)"
        ),
    )
    return p
