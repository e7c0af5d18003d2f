"""``motiontrack record SOURCE... -o FILE``: record sensors to a crash-safe ``.mtrec`` file."""

from __future__ import annotations

import argparse
import asyncio
import signal

from ..errors import ConfigurationError
from ._live import LiveView


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "record",
        help="record sensors to a .mtrec file (raw packets, samples, calibration, events)",
        description=(
            "Record one or two sensors while showing the live angle and reps. Sources: "
            "ble:ADDRESS, sim:NAME (virtual sensor), optionally named NAME=SOURCE "
            "(e.g. thigh=ble:AA:BB:CC:DD:EE:FF). The file is written append-only and fsync'd every "
            "second (a crash loses at most the last second); it is readable only by you (0600). "
            "Stop with Ctrl-C or --seconds."
        ),
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="new .mtrec file")
    p.add_argument(
        "--seconds",
        type=float,
        default=0.0,
        help="stop after this many seconds (default: until Ctrl-C)",
    )
    p.add_argument(
        "--exercise", metavar="NAME", help="exercise (rep-counter preset and start pose)"
    )
    p.add_argument("--joint", default="knee", choices=("knee", "elbow", "hinge", "hip", "shoulder"))
    p.add_argument(
        "--calibration",
        default="auto",
        choices=("auto", "guided", "none"),
        help="sensor-to-segment calibration at the start (default auto)",
    )
    p.add_argument(
        "--sensor-calibration",
        metavar="JSON",
        help="sensor calibration file (gyro bias, accelerometer, magnetometer) applied before fusion",
    )
    p.add_argument("--json", action="store_true", help="print events as JSON lines")
    p.add_argument("--quiet", action="store_true", help="no live view")
    return p


def parse_sources(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        if "=" in item:
            name, src = item.split("=", 1)
        else:
            src = item
            kind, _, target = src.partition(":")
            if kind not in ("ble", "sim", "replay") or not target:
                raise ConfigurationError(
                    f"unknown source {item!r}: use ble:ADDRESS, sim:NAME or NAME=SOURCE"
                )
            name = target if kind == "sim" else f"sensor{len(out) + 1}"
        if name in out:
            raise ConfigurationError(f"two sensors named {name!r}; name them NAME=SOURCE")
        out[name] = src
    return out


async def record(args: argparse.Namespace, view: LiveView) -> dict:
    from ..session import Session, SessionSettings

    sources = parse_sources(args.sources)
    if len(sources) > 2:
        raise ConfigurationError("record takes one sensor (segment) or two (a joint)")
    names = list(sources)
    fleet = None
    sim_names = [v.split(":", 1)[1] for v in sources.values() if v.startswith("sim:")]
    if args.exercise and sim_names and set(sim_names) <= {"thigh", "shank"}:
        from ..simulation import EXERCISES
        from ..virtual.fleet import start_sensors

        if args.exercise in EXERCISES:  # virtual sensors do the exercise asked for
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
