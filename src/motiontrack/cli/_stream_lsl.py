"""``motiontrack stream SOURCE... --lsl``: a live session published on Lab Streaming Layer.

The sources feed a :class:`motiontrack.Session` (two sensors: a joint, ``--joint``, default
knee; one sensor or ``--segment``: a segment) with ``lsl=True``: raw IMU, orientation,
angle and rep-marker outlets (:mod:`motiontrack.session._lsl`). A status line per
``--interval`` (JSON lines with ``--json``) gives the session time, reps and samples pushed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from ..session import Session
from ..transport import parse_source


async def stream_lsl(args: argparse.Namespace) -> int:
    specs = [parse_source(s) for s in args.sources]
    sensors = {s.target: str(s) for s in specs}
    sim_names = [s.target for s in specs if s.kind == "sim"]
    speed = args.speed if sim_names else 1.0
    fleet = None
    if sim_names:
        from ..virtual.fleet import start_sensors  # lazily: the virtual sensors need bumble

        fleet = await start_sensors(sim_names, speed=args.speed, sample_rate_hz=args.rate,
                                    exercise=args.exercise or "seated_knee_extension")
    segment = args.segment or (specs[0].target if len(specs) == 1 else None)
    try:
        async with Session(sensors, joint=args.joint or "knee", segment=segment,
                           exercise=args.exercise, lsl=True) as session:
            end = time.perf_counter() + args.seconds / speed + args.timeout
            while time.perf_counter() < end and session.last_t < args.seconds:
                await asyncio.sleep(args.interval)
                _status(session, args.json)
        _status(session, args.json, final=True)
    finally:
        if fleet is not None:
            await fleet.close()
    return 0


def _status(session: Session, as_json: bool, final: bool = False) -> None:
    pushed = dict(session.lsl.pushed) if session.lsl is not None else {}
    row = {"final": final, "t_s": round(session.last_t, 3), "reps": len(session.reps),
           "lsl_pushed": pushed}
    if as_json:
        print(json.dumps(row), flush=True)
    else:
        print(f"t={row['t_s']:8.2f}s  reps {row['reps']:3d}  LSL "
              + "  ".join(f"{k} {v}" for k, v in pushed.items()), flush=True)
