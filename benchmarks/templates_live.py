"""Issue 15, acceptance 4: a live ``Session`` with a template reports each rep within 0.5 s.

Virtual sensors (Bumble's emulated controller behind the real bleak API) stream a simulated
seated knee extension; the template is one rep of a separate simulated session (another
seed, another mounting) from the shank sensor. For each ``TemplateRepCompleted`` the
latency is the time from the moment the rep's last sample (``end_s``) was taken to the
event's dispatch: device time is put on the host clock by the least-delayed block seen so
far (lower envelope of arrival - device time), and host durations are multiplied by the
fleet's ``speed`` (the virtual sensors run ``speed`` times faster than real time; at 1 the
figure is wall time). It contains the transport and block buffering, the matcher's wait
(``max_delay_s + slack_s``) and the processing.

    python benchmarks/templates_live.py [--seconds 60] [--speed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import write_results  # noqa: E402

from motiontrack import Session  # noqa: E402
from motiontrack import events as ev  # noqa: E402
from motiontrack.simulation import simulate_knee_session  # noqa: E402
from motiontrack.template_analysis import create_template  # noqa: E402

EXERCISE = "seated_knee_extension"


def template():
    s = simulate_knee_session(EXERCISE, reps=3, seed=101)
    r = s.truth.reps[1]
    return create_template(s.to_recording(), span=(r.start_s - 0.3, r.end_s + 0.3),
                           segments=["shank"], label="knee extension")


async def measure(seconds: float = 60.0, speed: float = 1.0) -> dict:
    from motiontrack.virtual.fleet import start_sensors  # noqa: PLC0415 - needs bumble

    tpl = template()
    fleet = await start_sensors(["shank"], speed=speed, exercise=EXERCISE, seed=0)
    fed: list[tuple[float, float]] = []  # (last sample time, perf_counter at arrival)
    lat: list[float] = []
    reps = []
    try:
        session = Session({"shank": "sim:shank"}, segment="shank", templates=[tpl])

        def on_event(e: ev.SessionEvent) -> None:
            if isinstance(e, ev.TemplateRepCompleted):
                now = time.perf_counter()
                # device time -> host clock: the least-delayed block so far (lower envelope)
                offset = min(p - t / speed for t, p in fed)
                lat.append((now - (offset + e.rep.end_s / speed)) * speed)
                reps.append(e.rep)

        session.on(on_event, ev.TemplateRepCompleted)
        async with session:
            live = session.templates
            assert live is not None
            feed = live.feed

            def timed(sensor, t, acc, gyr):  # instrument the hook: when each block arrived
                fed.append((float(t[-1]), time.perf_counter()))
                return feed(sensor, t, acc, gyr)

            live.feed = timed  # type: ignore[method-assign]
            loop = asyncio.get_running_loop()
            stop = loop.time() + seconds / speed
            while loop.time() < stop:
                await asyncio.sleep(0.05)
    finally:
        await fleet.close()
    return {"latency_s": lat, "reps": len(reps), "stream_latency_s": [r.emitted_s - r.end_s for r in reps],
            "speed": speed, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="simulated seconds")
    ap.add_argument("--speed", type=float, default=1.0, help="virtual sensors' speed")
    args = ap.parse_args(argv)
    res = asyncio.run(measure(args.seconds, args.speed))
    lat = np.array(res["latency_s"])
    print(f"{res['reps']} template reps in {args.seconds:g} s (speed {args.speed:g}); latency from the "
          f"rep's end to the event: median {np.median(lat):.3f} s, max {lat.max():.3f} s; "
          f"stream-time delay max {max(res['stream_latency_s']):.3f} s")
    print("wrote", write_results("templates_live", res))
    return 0 if lat.size and lat.max() <= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
