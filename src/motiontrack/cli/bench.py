"""``motiontrack bench link|soak|latency``: the test bench (see docs/firmware-bench.md).

* ``motiontrack bench link SOURCE... --minutes N``: link quality of real (``ble:ADDRESS``)
  or virtual (``sim:NAME``, with ``--inject-*`` faults) sensors, pass/fail against the
  ``--max-*`` thresholds (exit code 0 = pass, 3 = fail), JSON with ``--json FILE``, raw
  packet capture with ``--capture FILE.mtrec``.
* ``motiontrack bench soak``: fault-injection endurance run through virtual sensors.
* ``motiontrack bench latency``: sample on the device -> rep event in the application.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_FAILED = 3  # the bench ran and a threshold was not met
#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_bench"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bench",
        help="test bench: link test, soak, end-to-end latency",
        description="Firmware and endurance test bench (docs/firmware-bench.md).",
    )
    sub = p.add_subparsers(dest="bench_command", metavar="BENCH")
    sub.required = True

    lk = sub.add_parser(
        "link",
        help="link quality of real or virtual sensors",
        description="Stream from the sensors and measure packet loss, jitter, sample rate, "
        "clock drift, "
        "MTU, reconnect time, command round trip and battery trend; pass/fail against thresholds. "
        "Exit code 0 = pass, 3 = a threshold failed, 1 = error.",
    )
    lk.add_argument("sources", nargs="+", metavar="SOURCE", help="ble:ADDRESS or sim:NAME")
    lk.add_argument(
        "--minutes", type=float, default=1.0, help="test length, min of sensor time (default 1)"
    )
    lk.add_argument(
        "--force-drop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="force one link drop at 80 %% of the test (default: virtual sensors only)",
    )
    lk.add_argument("--rtt-probes", type=int, default=10, help="command round trips (GET_CONFIG)")
    lk.add_argument("--capture", type=Path, help="write every notification to this .mtrec file")
    lk.add_argument(
        "--json", type=Path, metavar="FILE", help="write the report as JSON ('-' = stdout)"
    )
    g = lk.add_argument_group("thresholds (a value < 0 disables the check)")
    g.add_argument(
        "--max-loss", type=float, default=0.01, help="packet loss fraction (default 0.01)"
    )
    g.add_argument(
        "--max-burst", type=int, default=10, help="longest loss burst, packets (default 10)"
    )
    g.add_argument(
        "--max-jitter-ms", type=float, default=20.0, help="p99 arrival jitter, ms (default 20)"
    )
    g.add_argument(
        "--max-drift-ppm", type=float, default=100.0, help="|clock drift|, ppm (default 100)"
    )
    g.add_argument(
        "--min-rate-ratio", type=float, default=0.98, help="effective/nominal rate (default 0.98)"
    )
    g.add_argument(
        "--max-reconnect-s", type=float, default=5.0, help="drop -> data again, s (default 5)"
    )
    g.add_argument(
        "--max-rtt-ms", type=float, default=250.0, help="p99 command round trip, ms (default 250)"
    )
    g.add_argument(
        "--max-malformed", type=int, default=0, help="malformed notifications (default 0)"
    )
    s = lk.add_argument_group("virtual sensors (sim:NAME)")
    s.add_argument("--rate", type=float, default=200.0, help="sample rate, Hz (default 200)")
    s.add_argument("--speed", type=float, default=10.0, help="simulated s per wall s (default 10)")
    s.add_argument("--inject-loss", type=float, default=0.0, help="packet loss probability")
    s.add_argument("--inject-drift-ppm", type=float, default=0.0, help="device clock error, ppm")
    s.add_argument(
        "--inject-malformed-per-min",
        type=float,
        default=0.0,
        help="malformed notifications per min",
    )
    s.add_argument(
        "--inject-battery-drain",
        type=float,
        default=0.0,
        metavar="PCT_PER_H",
        help="battery drain, %%/h",
    )
    s.add_argument("--seed", type=int, default=0)

    sk = sub.add_parser(
        "soak",
        help="fault-injection endurance run through virtual sensors",
        description="Virtual sensors with link drops, malformed bursts, drift, saturation and a "
        "slow consumer through the live Session; memory, CPU, losses, reps. "
        "Exit 0 = every criterion met (faults the run is too short to reach are listed, "
        "not judged).",
    )
    sk.add_argument("--minutes", type=float, default=30.0, help="sensor time, min (default 30)")
    sk.add_argument("--sensors", type=int, default=4, help="even number of sensors (default 4)")
    sk.add_argument("--rate", type=float, default=200.0, help="sample rate, Hz (default 200)")
    sk.add_argument(
        "--speed", type=float, default=8.0, help="max simulated s per wall s (default 8)"
    )
    sk.add_argument(
        "--drop-every", type=float, nargs=2, default=(60.0, 180.0), metavar=("MIN_S", "MAX_S")
    )
    sk.add_argument("--no-tracemalloc", action="store_true", help="record RSS only (faster)")
    sk.add_argument("--seed", type=int, default=0)
    sk.add_argument(
        "--json", type=Path, metavar="FILE", help="write the report as JSON ('-' = stdout)"
    )

    la = sub.add_parser(
        "latency",
        help="sample on the device -> rep event in the application",
        description="Two virtual sensors in real time through the live Session; latency of rep and "
        "angle events, the emulated radio's share reported separately. Exit 0 = rep p99 < 20 ms.",
    )
    la.add_argument("--seconds", type=float, default=180.0, help="real time streamed (default 180)")
    la.add_argument("--rate", type=float, default=200.0, help="sample rate, Hz (default 200)")
    la.add_argument(
        "--json", type=Path, metavar="FILE", help="write the report as JSON ('-' = stdout)"
    )
    return p


