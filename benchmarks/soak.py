"""Endurance soak (issue 8, acceptance 2): virtual sensors with injected faults through the
full live Session, memory/CPU/losses/reps over time. Logic: :mod:`motiontrack.bench.soak`.

Default: 4 sensors x 200 Hz, 30 min of sensor time, as fast as the host keeps up (the
simulated clock slows down while the pipelines lag, up to ``--speed``).

    /tmp/venv/bin/python benchmarks/soak.py [--minutes 30] [--speed 8] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results

from motiontrack.bench import SoakSettings, run_soak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="sensor time to stream, min")
    ap.add_argument("--speed", type=float, default=8.0, help="max simulated s per wall s")
    ap.add_argument("--sensors", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-tracemalloc", action="store_true", help="RSS only (faster)")
    ap.add_argument("--quick", action="store_true", help="2 minutes of sensor time, faults every 20-40 s")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bumble").setLevel(logging.ERROR)
    if args.quick:
        settings = SoakSettings(stream_s=120.0, speed=args.speed, n_sensors=args.sensors, seed=args.seed,
                                drop_every_s=(20.0, 40.0), malformed_every_s=(15.0, 30.0),
                                slow_consumer=(0.5, 0.75), memory_every_s=5.0,
                                trace_memory=not args.no_tracemalloc)
    else:
        settings = SoakSettings(stream_s=60.0 * args.minutes, speed=args.speed, n_sensors=args.sensors,
                                seed=args.seed, trace_memory=not args.no_tracemalloc)
    report = asyncio.run(run_soak(settings))
    print(report.format())
    path = write_results("soak_quick" if args.quick else "soak", report.to_dict())
    print(f"wrote {path}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
