"""End-to-end latency (issue 8, acceptance 3): sample on the virtual device -> rep event in
the application, p50/p99 at 2 x 200 Hz, the emulated radio's own time reported separately.

Logic and definitions: :mod:`motiontrack.bench.latency` (real time; the decisive
notification of each event is traced from the firmware's radio hand-off to the
application's ``async for``). Target: library p99 < 20 ms for rep events.

    /tmp/venv/bin/python benchmarks/e2e_latency.py [--seconds 180] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_results

from motiontrack.bench import LatencySettings, run_latency


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=240.0, help="real time streamed")
    ap.add_argument("--rate", type=float, default=200.0, help="Hz per sensor")
    ap.add_argument("--quick", action="store_true", help="60 s")
    args = ap.parse_args(argv)
    logging.getLogger("bumble").setLevel(logging.ERROR)
    report = asyncio.run(run_latency(LatencySettings(duration_s=60.0 if args.quick else args.seconds,
                                                     sample_rate_hz=args.rate)))
    print(report.format())
    print(f"wrote {write_results('e2e_latency', report.to_dict())}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
