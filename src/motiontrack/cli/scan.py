"""``motiontrack scan``: list nearby motiontrack sensors (service UUID filter, RSSI, battery).

The arguments; the command runs in :mod:`motiontrack.cli._scan`. Light (argparse only), so
that building the parser imports neither asyncio nor the transport.
"""

from __future__ import annotations

import argparse

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_scan"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "scan",
        help="list nearby sensors",
        description="Scan for sensors advertising the motiontrack service. With --sim, "
        "virtual sensors (thigh and shank of a simulated knee) are started and scanned "
        "instead of the radio.",
    )
    p.add_argument("--seconds", type=float, default=5.0, help="scan duration in s (default 5)")
    p.add_argument("--sim", action="store_true", help="scan virtual sensors instead of the radio")
    p.add_argument(
        "--sim-names",
        default="thigh,shank",
        help="virtual sensors to start with --sim (comma-separated)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list")
    return p
