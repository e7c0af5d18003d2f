"""``motiontrack batch PATTERN --out OUT``: many recordings on Dask (:mod:`motiontrack.batch`)."""

from __future__ import annotations

import argparse
import glob
import os

from ..batch import analyze_many, reps_path
from ..errors import InputError
from ..reps import Template
from ._common import print_json, write_stdout


def run(args: argparse.Namespace) -> int:
    if args.segment and (args.joint or args.proximal or args.distal):
        raise InputError("use --segment NAME or --joint/--proximal/--distal, not both")
    if args.template and (args.joint or args.proximal or args.distal or args.segment
                          or args.exercise):
        raise InputError("--template finds reps by example: not with --joint, --segment or "
                         "--exercise (the templates name their sensors)")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    paths = sorted(glob.glob(args.pattern, recursive=True))
    if not paths:
        raise InputError(f"no file matches {args.pattern!r}")
    for t in args.template or ():  # an unreadable template fails here, before any worker starts
        Template.load(t)
    recs, reps = analyze_many(
        paths, out=args.out, workers=args.workers, scheduler=args.scheduler, quiet=args.json,
        joint=args.joint, proximal=args.proximal, distal=args.distal, segment=args.segment,
        exercise=args.exercise, fusion_method=args.fusion,
        templates=[os.path.abspath(t) for t in args.template] if args.template else None,
    )
    failed = recs[recs["status"] == "error"]
    summary = {
        "matched": len(paths),
        "recordings": len(recs),
        "ok": int((recs["status"] == "ok").sum()),
        "failed": len(failed),
        "reps": len(reps),
        "out": args.out,
        "reps_out": str(reps_path(args.out)),
        "errors": [{"path": p, "error": e} for p, e in zip(failed["path"], failed["error"])],
    }
    if args.json:
        print_json(summary)
    else:
        lines = [f"{summary['ok']} of {summary['recordings']} recordings analysed, "
                 f"{summary['reps']} reps -> {args.out}, {summary['reps_out']}"]
        lines += [f"failed: {e['path']}: {e['error']}" for e in summary["errors"]]
        write_stdout("\n".join(lines) + "\n")
    return 0 if not len(failed) else 1
