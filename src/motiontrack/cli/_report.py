"""``motiontrack report FILE... -o report.html``: a self-contained HTML session report, or a
progress report across several sessions."""

from __future__ import annotations

import argparse
from typing import Any

from .. import io
from .._progress import track
from ..analysis import AnalysisSettings, process_recording
from ..report import SessionInfo, target_zone, write_progress, write_report
from ._common import Progress


def _analyse(
    path: str, args: argparse.Namespace, progress: Progress | None
) -> tuple[Any, SessionInfo]:
    rec = io.load(path, recover=args.recover)
    res = process_recording(
        rec,
        joint=args.joint,
        proximal=args.proximal,
        distal=args.distal,
        segment=args.segment,
        exercise=args.exercise,
        settings=AnalysisSettings(
            pose=args.pose, pose_flexion_deg=args.pose_flexion, side=args.side or "right"
        ),
        sensor_calibration=args.sensor_calibration,
        progress=progress,
    )
    return res, SessionInfo.of(rec, side=args.side)


def run(args: argparse.Namespace) -> int:
    if args.target is not None:  # a bad target is said before any analysis
        target_zone(args.exercise, joint=args.joint or "knee", target_deg=args.target)
    if len(args.files) > 1:  # one bar over the sessions (motiontrack._progress)
        sessions = [_analyse(p, args, None) for p in track(args.files, desc="sessions")]
        write_progress(args.output, sessions, title=args.title, target_deg=args.target)
    else:
        progress = Progress()
        try:
            sessions = [_analyse(args.files[0], args, progress)]
            progress("writing the report")
            write_report(
                args.output,
                sessions[0][0],
                title=args.title,
                info=sessions[0][1],
                target_deg=args.target,
            )
        finally:
            progress.done()
    if len(sessions) == 1:
        res = sessions[0][0]
        print(f"wrote {args.output}: {res.rep_count} reps, {len(res.gaps)} gaps")
    else:
        counts = ", ".join(str(r.rep_count) for r, _ in sessions)
        print(f"wrote {args.output}: progress over {len(sessions)} sessions ({counts} reps)")
    return 0
