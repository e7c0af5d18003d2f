"""``motiontrack replay FILE``: play a recording through the live session pipeline."""

from __future__ import annotations

import argparse
import asyncio

from ..analysis import rep_to_dict
from ..errors import InputError
from ..io import load
from ..session import Session, SessionSettings
from ._common import print_json_line
from ._live import LiveView


async def replay(args: argparse.Namespace, view: LiveView) -> dict:
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
        else {"joint": args.joint, "proximal": args.proximal, "distal": args.distal}
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

    return {
        "type": "replay_summary",
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
        print_json_line(res)  # JSON Lines: the summary is the last line
    else:
        print(f"{res['rep_count']} reps")
    return 0
