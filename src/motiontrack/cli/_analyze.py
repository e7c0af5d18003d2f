"""``motiontrack analyze FILE``: offline analysis of a recording (``.mtrec`` or CSV)."""

from __future__ import annotations

import argparse

from ..analysis import AnalysisSettings, process_recording
from ..io import write_angles_csv
from . import _analyze_templates as _templates
from ._common import Progress, print_json, write_stdout


def run(args: argparse.Namespace) -> int:
    if args.template:
        return _templates.run(args)
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
        magnetometer=args.magnetometer,
        zero_at=args.zero_at,
        hinge_sign=args.hinge_sign,
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
            placement=args.placement,
        )
    finally:
        progress.done()
    if args.angles_out:
        write_angles_csv(args.angles_out, res.t, res.angles, bridged=res.bridged)
    if args.json:
        print_json(res.to_dict())
    else:
        write_stdout(format_text(res) + "\n")
    return 0


def format_text(res) -> str:
    if res.joint and len(res.sensors) == 2:
        what = f"{res.joint} ({res.sensors[0]} -> {res.sensors[1]})"
    elif res.joint:  # a body region from its distal sensor alone
        what = f"{res.joint} ({res.sensors[0]} alone)"
    else:
        what = f"segment {res.sensors[0]}"
    lines = [
        f"{res.source}: {what}, {res.duration_s:.1f} s at {res.fs_hz:.1f} Hz, fusion {res.fusion_method}",
    ]
    if res.calibration is not None:
        how = "from motion (no pose)" if res.pose == "motion" else f"{res.pose} pose"
        lines.append(f"calibration: {how}, confidence {res.calibration.confidence:.2f}")
    rom = res.rom()
    lines.append(
        f"reps: {res.rep_count}    {res.clinical_angle} ({res.primary}): min {rom['min_deg']}  "
        f"max {rom['max_deg']}"
    )
    if res.faulty_sensors:
        lines.append(
            f"NOT TO BE TRUSTED: {', '.join(res.faulty_sensors)} is faulty (its gyroscope and "
            "accelerometer disagree): these angles and reps are marked, not corrected; see the "
            "warnings"
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
    for r in res.interrupted_reps:
        lines.append(
            f"  interrupted {r.start_s:>8.2f} {r.end_s:>8.2f} {r.min_deg:>8.1f} {r.max_deg:>8.1f}  "
            "cut by a data gap: seen in part, not counted"
        )
    if res.gaps:
        lines.append(f"gaps: {len(res.gaps)} ({sum(g.missing for g in res.gaps)} samples missing)")
    for w in res.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
