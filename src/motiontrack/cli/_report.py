"""``motiontrack report FILE -o report.html``: a self-contained HTML session report."""

from __future__ import annotations

import argparse

from ..analysis import AnalysisSettings, process_recording
from ..report import write_report
from ._common import Progress


def run(args: argparse.Namespace) -> int:
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
