"""``motiontrack analyze FILE``: offline analysis of a recording (``.mtrec`` or CSV)."""

from __future__ import annotations

import argparse

from ..analysis import JOINT_CHOICES, AnalysisSettings, process_recording
from ._common import Progress, print_json, write_stdout


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
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--angles-out", metavar="CSV", help="write time_s and the joint angles to this CSV"
    )
    return p


def run(args: argparse.Namespace) -> int:
    if args.segment and (args.joint or args.proximal or args.distal):
        raise SystemExit(
            "motiontrack analyze: error: use --segment NAME or --joint/--proximal/--distal, not both"
        )
    progress = Progress()
    settings = AnalysisSettings(
        fusion_method=args.fusion,
        pose=args.pose,
        pose_flexion_deg=args.pose_flexion,
        side=args.side,
    )
    try:
        res = process_recording(
            args.file,
            joint=args.joint,
            proximal=args.proximal,
            distal=args.distal,
            segment=args.segment,
            exercise=args.exercise,
            settings=settings,
            sensor_calibration=args.sensor_calibration,
            recover=args.recover,
            progress=progress,
        )
    finally:
        progress.done()
    if args.angles_out:
        from ..io import write_angles_csv

        write_angles_csv(args.angles_out, res.t, res.angles)
    if args.json:
        print_json(res.to_dict())
    else:
        write_stdout(format_text(res) + "\n")
    return 0


def format_text(res) -> str:
    what = (
        f"{res.joint} ({res.sensors[0]} -> {res.sensors[1]})"
        if res.joint
        else f"segment {res.sensors[0]}"
    )
    lines = [
        f"{res.source}: {what}, {res.duration_s:.1f} s at {res.fs_hz:.1f} Hz, fusion {res.fusion_method}",
    ]
    if res.calibration is not None:
        lines.append(f"calibration: {res.pose} pose, confidence {res.calibration.confidence:.2f}")
    rom = res.rom()
    lines.append(
        f"reps: {res.rep_count}    {res.primary}: min {rom['min_deg']}  max {rom['max_deg']}"
    )
    if res.reps:
        lines.append(
            f"  {'rep':>3} {'start s':>8} {'end s':>8} {'min deg':>8} {'max deg':>8} {'ROM deg':>8} {'dur s':>6}  flags"
        )
        for r in res.reps:
            flags = ",".join(f.name.lower() for f in type(r.flags) if f and f in r.flags) or "-"
            lines.append(
                f"  {r.index + 1:>3} {r.start_s:>8.2f} {r.end_s:>8.2f} {r.min_deg:>8.1f} {r.max_deg:>8.1f} "
                f"{r.rom_deg:>8.1f} {r.duration_s:>6.2f}  {flags}"
            )
    if res.gaps:
        lines.append(f"gaps: {len(res.gaps)} ({sum(g.missing for g in res.gaps)} samples missing)")
    for w in res.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
