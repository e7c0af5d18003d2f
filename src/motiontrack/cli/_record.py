"""``motiontrack record SOURCE... -o FILE``: record sensors to a crash-safe ``.mtrec`` file."""

from __future__ import annotations

import argparse
import asyncio
import signal

from ..errors import ConfigurationError
from ..session import Session, SessionSettings
from ..simulation import EXERCISES
from ..virtual.fleet import start_sensors
from ._common import parse_sources, prepare_output
from ._live import LiveView


async def record(args: argparse.Namespace, view: LiveView) -> dict:
    sources = parse_sources(args.sources)
    if len(sources) > 2:
        raise ConfigurationError("record takes one sensor (segment) or two (a joint)")
    prepare_output(args.output, args.overwrite)
    names = list(sources)
    fleet = None
    sim_names = [v.split(":", 1)[1] for v in sources.values() if v.startswith("sim:")]
    if (
        args.exercise
        and sim_names
        and set(sim_names) <= {"thigh", "shank"}
        and args.exercise in EXERCISES  # virtual sensors do the exercise asked for
    ):
        fleet = await start_sensors(sim_names, exercise=args.exercise)
    kw = {"segment": names[0]} if len(names) == 1 else {"joint": args.joint}
    session = Session(
        sources,
        exercise=args.exercise,
        record_to=args.output,
        sensor_calibration=args.sensor_calibration,
        settings=SessionSettings(calibration=args.calibration),
        **kw,
    )
    session.on(view)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            pass
    try:
        async with session:
            try:
                await asyncio.wait_for(stop.wait(), args.seconds if args.seconds > 0 else None)
            except TimeoutError:
                pass
    finally:
        if fleet is not None:
            await fleet.close()
    return {
        "file": args.output,
        "reps": len(session.reps),
        "samples": session.counts.get("samples", 0),
    }


def run(args: argparse.Namespace) -> int:
    view = LiveView(json_lines=args.json, quiet=args.quiet)
    try:
        res = asyncio.run(record(args, view))
    finally:
        view.close()
    if not args.json:
        print(f"recorded {res['samples']} samples, {res['reps']} reps to {res['file']}")
    return 0
