"""``motiontrack export FILE --bids DIR``: a recording as BIDS-motion (:mod:`motiontrack.io.bids`)
"""

from __future__ import annotations

import argparse

from ..analysis import process_recording
from ..errors import InputError
from ..io import load, to_bids
from ._common import print_json, write_stdout


def run(args: argparse.Namespace) -> int:
    if args.segment and (args.joint or args.proximal or args.distal):
        raise InputError("use --segment NAME or --joint/--proximal/--distal, not both")
    rec = load(args.file)
    res = None
    if not args.raw:
        segment = args.segment
        if segment is None and len(rec.sensors) == 1 and not args.joint:
            segment = rec.names[0]
        res = process_recording(rec, joint=args.joint, proximal=args.proximal,
                                distal=args.distal, segment=segment, exercise=args.exercise)
    files = to_bids(rec, args.bids, subject=args.subject, task=args.task, session=args.session,
                    run=args.run, analysis=res, overwrite=args.overwrite, quiet=args.json)
    if args.json:
        print_json({"bids": args.bids, "files": [str(f) for f in files],
                    "reps": None if res is None else res.rep_count})
    else:
        what = "samples only" if res is None else f"{res.rep_count} reps"
        write_stdout(f"{len(files)} files written to {args.bids} ({what})\n")
    return 0
