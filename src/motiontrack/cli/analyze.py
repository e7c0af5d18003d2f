"""The arguments of ``motiontrack analyze`` (the command runs in :mod:`motiontrack.cli._analyze`).

Light (argparse only), so that building the parser, and ``motiontrack --help``, imports
no sub-command; ``motiontrack.cli`` imports ``_analyze`` only to run the command.
"""

from __future__ import annotations

import argparse

from ..conventions import JOINT_CHOICES

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_analyze"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "analyze",
        help="joint angles, reps and ROM of a recording",
        description=(
            "Offline analysis of a recording (.mtrec or long-form CSV): fusion, automatic "
            "sensor-to-segment calibration (the recording must start with >= 1 s still), joint "
            "angles, repetitions, range of motion and data gaps."
        ),
    )
    p.add_argument(
        "file", help="recording: .mtrec or CSV (time_s,sensor,acc_x..gyr_z[,mag_x..mag_z])"
    )
    p.add_argument("--joint", choices=JOINT_CHOICES, help="two-sensor joint (default knee)")
    p.add_argument("--proximal", metavar="NAME", help="sensor on the proximal segment (e.g. thigh)")
    p.add_argument("--distal", metavar="NAME", help="sensor on the distal segment (e.g. shank)")
    p.add_argument("--segment", metavar="NAME", help="count reps from this one sensor instead")
    p.add_argument(
        "--placement",
        metavar="JSON",
        help="body-region exercises: what is worn where, a JSON file {segment: sensor name} "
        '(e.g. {"chest": "u5", "upper_arm": "u3"}); default: the sensor names are the segments',
    )
    p.add_argument(
        "--exercise",
        metavar="NAME",
        help="exercise (rep-counter preset and start pose), e.g. squat",
    )
    p.add_argument(
        "--pose",
        choices=("standing", "seated", "supine"),
        help="still pose at the start (default: detected: a standing start, else the exercise's posture; see docs/session-protocol.md)",
    )
    p.add_argument(
        "--pose-flexion",
        type=float,
        metavar="DEG",
        help="joint flexion measured in the still pose (goniometer); default: the pose's nominal value",
    )
    p.add_argument(
        "--side", choices=("right", "left"), default="right", help="body side (default right)"
    )
    p.add_argument(
        "--magnetometer",
        action="store_true",
        help="9D: use the magnetometers (needs mag columns for both sensors); default 6D",
    )
    p.add_argument(
        "--zero-at",
        type=float,
        metavar="S",
        help="--joint hinge: session time (s) of the reference pose where the angle is 0° "
        "(default: the first still moment, else the start)",
    )
    p.add_argument(
        "--hinge-sign",
        type=int,
        choices=(1, -1),
        default=1,
        help="--joint hinge: 1 = right-hand rule about the hinge axis oriented along the proximal "
        "sensor's nearest axis (default), -1 = the opposite",
    )
    p.add_argument(
        "--fusion", default="vqf", metavar="METHOD", help="orientation filter (default vqf)"
    )
    p.add_argument(
        "--sensor-calibration",
        metavar="JSON",
        help="sensor calibration file (gyro bias, accelerometer, magnetometer) to apply first",
    )
    p.add_argument(
        "--recover", action="store_true", help="use the intact part of a damaged .mtrec file"
    )
    p.add_argument(
        "--template",
        action="append",
        metavar="T.json",
        help="count the reps of these templates (repeat for several; see `motiontrack template`)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--angles-out", metavar="CSV", help="write time_s and the joint angles to this CSV"
    )
    return p
