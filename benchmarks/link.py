"""Link test on virtual sensors with injected loss and drift (issue 8, acceptance 1).

Runs :func:`motiontrack.bench.run_link_test` on virtual sensors for several injected
(loss, drift) cases and reports the measured figures against the injected ones (loss
within 1 % absolute, drift within 5 ppm), plus jitter, reconnect time and command round
trip. The same test against a real sensor is ``motiontrack bench link ble:ADDRESS``
(docs/firmware-bench.md).

Drift accuracy depends on the *wall-clock* length of the run, not on the simulated one:
the arrival-time floor wobbles by a fraction of a millisecond of wall time with the
host's load, and simulated time is ``speed`` times wall time.

    /tmp/venv/bin/python benchmarks/link.py [--minutes 2] [--speed 4] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_results

from motiontrack.bench import LinkTestSettings, SimFaults, run_link_test

CASES = [(0.0, 0.0), (0.02, 80.0), (0.05, -40.0), (0.01, 150.0)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0, help="sensor time per case, min")
    ap.add_argument("--speed", type=float, default=4.0, help="simulated s per wall s")
    ap.add_argument("--sensors", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="2 cases, 1 min at speed 4")
    args = ap.parse_args(argv)
    logging.getLogger("bumble").setLevel(logging.ERROR)
    cases = CASES[:2] if args.quick else CASES
    minutes = 1.0 if args.quick else args.minutes
    rows, results = [], []
    for loss, drift in cases:
        settings = LinkTestSettings(
            duration_s=60.0 * minutes, sim=SimFaults(loss=loss, drift_ppm=drift, speed=args.speed, seed=7))
        report = asyncio.run(run_link_test([f"sim:dut{i}" for i in range(args.sensors)], settings))
        for s in report.sensors:
            truth_loss = s.truth["packets_lost_air"] / max(1, s.truth["packets_generated"])
            ok = abs(s.loss_rate - loss) < 0.01 and abs(s.drift_ppm - drift) < 5.0
            rows.append((s.sensor, loss, f"{100 * s.loss_rate:.3f}", f"{100 * truth_loss:.3f}", drift,
                         f"{s.drift_ppm:+.2f}", f"{s.jitter_ms_p99:.2f}",
                         f"{max(s.reconnect_to_data_s, default=float('nan')):.3f}",
                         f"{s.rtt_ms_p50:.2f}", "yes" if ok else "NO"))
            results.append({"injected_loss": loss, "injected_drift_ppm": drift, "wall_s": report.wall_s,
                            **s.to_dict()})
    print(table(rows, ["sensor", "inj loss", "loss %", "fw loss %", "inj ppm", "drift ppm", "jit p99 ms",
                       "reconn s", "rtt ms", "within 1 %/5 ppm"]))
    print(f"({60 * minutes:.0f} s of sensor time per case at speed {args.speed:g})")
    print(f"wrote {write_results('link', results)}")
    return 0 if all(r[-1] == "yes" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
