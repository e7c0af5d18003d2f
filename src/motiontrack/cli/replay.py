"""``motiontrack replay FILE``: play a recording through the live session pipeline."""

from __future__ import annotations

import argparse
import asyncio

from ._common import print_json
from ._live import LiveView


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "replay",
        help="play a recording (.mtrec or CSV) through the live pipeline",
        description="Replay a recording at real time (or --speed) through the same Session code as live sensors.",
    )
    p.add_argument("file", help="recording (.mtrec or CSV)")
    p.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="1 = real time, 0 = as fast as possible (default 1)",
    )
    p.add_argument("--exercise", metavar="NAME")
    p.add_argument("--joint", default="knee", choices=("knee", "elbow", "hinge", "hip", "shoulder"))
    p.add_argument("--proximal", metavar="NAME")
    p.add_argument("--distal", metavar="NAME")
    p.add_argument("--segment", metavar="NAME", help="count reps from this one sensor")
    p.add_argument("--calibration", default="auto", choices=("auto", "guided", "none"))
    p.add_argument(
        "--recover", action="store_true", help="use the intact part of a damaged .mtrec file"
    )
    p.add_argument(
        "--sensor-calibration",
        metavar="JSON",
        help="sensor calibration file (gyro bias, accelerometer, magnetometer) applied before fusion",
    )
    p.add_argument(
        "--json", action="store_true", help="events as JSON lines, then a summary object"
    )
    return p


async def replay(args: argparse.Namespace, view: LiveView) -> dict:
    from ..errors import InputError
    from ..io import load
    from ..session import Session, SessionSettings

    rec = load(args.file, recover=args.recover)
    names = (
        [args.segment]
        if args.segment
        else [n for n in (args.proximal, args.distal) if n] or rec.names
    )
    for n in names:
        rec.sensor(n)  # clear error for an unknown name
    if not args.segment and len(names) != 2:
        if len(rec.names) == 1:
            names, args.segment = rec.names, rec.names[0]
        else:
            raise InputError(
                f"{args.file} has sensors {', '.join(rec.names)}: choose --proximal and --distal, or --segment"
            )
    sources = {n: f"replay:{args.file}" for n in names}
    kw = (
        {"segment": args.segment}
        if args.segment
        else {"joint": args.joint, "proximal": names[0], "distal": names[1]}
    )
    session = Session(
        sources,
        exercise=args.exercise,
        replay_speed=args.speed,
        recover=args.recover,
        sensor_calibration=args.sensor_calibration,
        settings=SessionSettings(calibration=args.calibration),
        **kw,
    )
    session.on(view)
    async with session:
        await session.wait()
    from ..analysis import rep_to_dict

    return {
        "file": args.file,
        "rep_count": len(session.reps),
        "reps": [rep_to_dict(r) for r in session.final_reps()],
        "calibrated": session.calibration is not None,
        "dropped_events": session.dropped_events,
    }


def run(args: argparse.Namespace) -> int:
    view = LiveView(json_lines=args.json)
    try:
        res = asyncio.run(replay(args, view))
    finally:
        view.close()
    if args.json:
        print_json(res)
    else:
        print(f"{res['rep_count']} reps")
    return 0
