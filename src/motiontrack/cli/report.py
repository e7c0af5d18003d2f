"""``motiontrack report FILE -o report.html``: a self-contained HTML session report."""

from __future__ import annotations

import argparse

from ..analysis import JOINT_CHOICES, AnalysisSettings, process_recording
from ._common import Progress


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="HTML report of a recording (angle over time, reps, ROM, tempo, gaps)",
        description="Analyse a recording (as `motiontrack analyze`) and write a self-contained HTML report.",
    )
    p.add_argument("file", help="recording: .mtrec or CSV")
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
    p.add_argument("--side", choices=("right", "left"), default="right")
    p.add_argument(
        "--sensor-calibration",
        metavar="JSON",
        help="sensor calibration file (gyro bias, accelerometer, magnetometer) to apply first",
    )
    p.add_argument(
        "--recover", action="store_true", help="use the intact part of a damaged .mtrec file"
    )
    return p


def run(args: argparse.Namespace) -> int:
    from ..report import write_report

    progress = Progress()
    try:
        res = process_recording(
            args.file,
            joint=args.joint,
            proximal=args.proximal,
            distal=args.distal,
            segment=args.segment,
            exercise=args.exercise,
            settings=AnalysisSettings(
                pose=args.pose, pose_flexion_deg=args.pose_flexion, side=args.side
            ),
            sensor_calibration=args.sensor_calibration,
            recover=args.recover,
            progress=progress,
        )
        progress("writing the report")
        write_report(args.output, res, title=args.title)
    finally:
        progress.done()
    print(f"wrote {args.output}: {res.rep_count} reps, {len(res.gaps)} gaps")
    return 0
