"""The arguments of ``motiontrack batch`` (the command runs in :mod:`motiontrack.cli._batch`)."""

from __future__ import annotations

import argparse

from ..conventions import JOINT_CHOICES

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_batch"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "batch",
        help="analyse many recordings in parallel (Dask) into Parquet tables",
        description=(
            "Analyse every recording matching PATTERN (a glob; ** for sub-folders) in parallel "
            "on Dask: a local cluster by default, or a running one with --scheduler. Writes one "
            "row per recording to OUT and one per rep to OUT's .reps.parquet sibling; rerunning "
            "skips recordings already done (by content hash); a failing recording is reported "
            "in its row. Needs motiontrack[batch]."
        ),
    )
    p.add_argument("pattern", metavar="PATTERN", help='recordings, e.g. "study/**/*.mtrec"')
    p.add_argument("--out", required=True, metavar="PARQUET", help="recording table (.parquet)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local cluster of N worker processes (default 2)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="a running Dask scheduler (dask scheduler / dask worker)")
    p.add_argument("--joint", choices=JOINT_CHOICES, help="two-sensor joint (default knee)")
    p.add_argument("--proximal", metavar="NAME", help="sensor on the proximal segment")
    p.add_argument("--distal", metavar="NAME", help="sensor on the distal segment")
    p.add_argument("--segment", metavar="NAME", help="count reps from this one sensor instead")
    p.add_argument("--exercise", metavar="NAME", help="exercise (rep-counter preset, start pose)")
    p.add_argument("--fusion", metavar="METHOD", help="orientation filter (default vqf)")
    p.add_argument("--template", action="append", metavar="T.json",
                   help="count reps by these templates instead (repeatable; motiontrack template)")
    p.add_argument("--json", action="store_true", help="print a JSON summary; no progress bar")
    return p
