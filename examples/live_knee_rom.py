"""Live knee range of motion from two sensors (thigh + shank).

Connects to two sensors, calibrates them to the body automatically along the session
protocol (stand still with the legs straight for 2-3 s, then take the exercise position
-- sit down, lie down or stay standing --, keep still a second and exercise), prints each
repetition with its range of motion as it happens, and a summary at the end. Without addresses it uses two *virtual* sensors on a simulated
knee, streamed through the real bleak API, so it runs anywhere (also in CI)::

    python examples/live_knee_rom.py                       # virtual sensors, 20 s
    python examples/live_knee_rom.py --thigh AA:BB:CC:DD:EE:01 --shank AA:BB:CC:DD:EE:02
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import motiontrack.events as ev
from motiontrack.session import Session

log = logging.getLogger("live_knee_rom")


async def main(args: argparse.Namespace) -> int:
    fleet = None
    if args.thigh and args.shank:
        sources = {"thigh": f"ble:{args.thigh}", "shank": f"ble:{args.shank}"}
    else:
        from motiontrack.virtual.fleet import start_sensors

        log.info("no addresses given: using two virtual sensors (simulated %s)", args.exercise)
        fleet = await start_sensors(["thigh", "shank"], speed=args.speed, exercise=args.exercise)
        sources = {"thigh": "sim:thigh", "shank": "sim:shank"}

    def show(event: ev.SessionEvent) -> None:
        if isinstance(event, ev.CalibrationPrompt):
            print(f">>> {event.message}")
        elif isinstance(event, ev.CalibrationDone):
            print(f"calibrated ({event.pose}, confidence {event.confidence:.2f})")
        elif isinstance(event, ev.RepCompleted):
            r = event.rep
            print(
                f"rep {event.count}: {r.min_deg:.1f}..{r.max_deg:.1f} deg, ROM {r.rom_deg:.1f} deg"
            )
        elif isinstance(event, (ev.SensorDisconnected, ev.SensorReconnected, ev.DataGap)):
            print(event)

    try:
        async with Session(sources, joint="knee", exercise=args.exercise) as session:
            session.on(show)
            # run on session time; keep going while a rep is in progress, or (up to 15 s
            # longer) until the automatic calibration has enough motion
            while (
                session.last_t < args.seconds or session.mid_rep or session.calibration is None
            ) and (session.last_t < args.seconds + 15.0):
                await asyncio.sleep(0.05)
    finally:
        if fleet is not None:
            await fleet.close()
    reps = session.final_reps()
    best = max((r.rom_deg for r in reps), default=0.0)
    print(f"summary: {len(reps)} reps, best ROM {best:.1f} deg")
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    p.add_argument(
        "--thigh", help="Bluetooth address of the thigh sensor (omit for virtual sensors)"
    )
    p.add_argument("--shank", help="Bluetooth address of the shank sensor")
    p.add_argument("--exercise", default="squat", help="exercise (default squat)")
    p.add_argument("--seconds", type=float, default=20.0, help="session time to run, s")
    p.add_argument(
        "--speed", type=float, default=1.0, help="virtual sensors only: simulated s per real s"
    )
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING)
    raise SystemExit(asyncio.run(main(a)))
