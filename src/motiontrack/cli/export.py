"""The arguments of ``motiontrack export`` (the command runs in :mod:`motiontrack.cli._export`)."""

from __future__ import annotations

import argparse

from ..conventions import JOINT_CHOICES

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_export"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help="export a recording as BIDS-motion (samples, orientations, angles, rep events)",
        description=(
            "Write a recording (.mtrec or CSV) as one session of a BIDS-motion dataset in DIR "
            "(created, or added to): each sensor's samples, and unless --raw the analysis "
            "(orientations, joint angles, reps and calibration as events). See "
            "motiontrack.io.bids for the layout and the events' trial_type vocabulary."
        ),
    )
    p.add_argument("file", help="recording: .mtrec or CSV")
    p.add_argument("--bids", required=True, metavar="DIR", help="BIDS dataset folder")
    p.add_argument("--subject", required=True, metavar="S", help="subject label (letters, digits)")
    p.add_argument("--session", metavar="X", help="session label")
    p.add_argument("--task", required=True, metavar="T", help="task label, e.g. squat")
    p.add_argument("--run", type=int, metavar="N", help="run index")
    p.add_argument("--joint", choices=JOINT_CHOICES, help="two-sensor joint (default knee)")
    p.add_argument("--proximal", metavar="NAME", help="sensor on the proximal segment")
    p.add_argument("--distal", metavar="NAME", help="sensor on the distal segment")
    p.add_argument("--segment", metavar="NAME",
                   help="single-sensor analysis (default when the file has one sensor)")
    p.add_argument("--exercise", metavar="NAME", help="exercise (rep-counter preset, start pose)")
    p.add_argument("--raw", action="store_true", help="samples only, no analysis")
    p.add_argument("--overwrite", action="store_true", help="replace this task/run's files")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    return p
