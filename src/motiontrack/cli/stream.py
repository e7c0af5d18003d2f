"""``motiontrack stream SOURCE...``: a live view of one or more sensors.

Per sensor: received sample rate, loss (samples missing / expected), gaps,
malformed notifications, reconnections and the latest sample. Sources are
``ble:ADDRESS`` or ``sim:NAME`` (virtual sensors, started on demand; ``--speed``
runs their clock faster than real time). With ``--web``, a live session of the sensors
(one: a segment; two: a joint) and its page in the browser (:mod:`motiontrack.cli._web`).

The arguments; the command runs in :mod:`motiontrack.cli._stream`. Light (argparse only), so
that building the parser imports neither asyncio nor the transport.
"""

from __future__ import annotations

import argparse

from ._webargs import add_web_arguments

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_stream"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "stream",
        help="live view of sensor data",
        description="Connect to the sensors in parallel and show rate, loss and the latest sample.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="ble:ADDRESS or sim:NAME (NAME=SOURCE with --web)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        help="stream duration in sensor-time s (default 10; with --web: until Ctrl-C)",
    )
    p.add_argument(
        "--json", action="store_true", help="JSON lines: one per refresh, a final summary"
    )
    p.add_argument("--interval", type=float, default=1.0, help="refresh interval in s (default 1)")
    p.add_argument("--speed", type=float, default=1.0, help="sim sources: simulated s per real s")
    p.add_argument("--rate", type=float, default=100.0, help="sim sources: sample rate in Hz")
    p.add_argument("--timeout", type=float, default=10.0, help="connection timeout in s")
    add_web_arguments(p)
    p.add_argument("--joint", default="knee", choices=("knee", "elbow", "hinge", "hip", "shoulder"),
                   help="with --web or --lsl and two sensors: the joint between them (default knee)")
    p.add_argument("--exercise", metavar="NAME",
                   help="with --web or --lsl: the exercise (rep-counter preset, posture, target)")
    p.add_argument("--lsl", action="store_true",
                   help="run a session and publish Lab Streaming Layer outlets (raw IMU, "
                        "orientation, angles, rep markers; needs motiontrack[lsl])")
    p.add_argument("--segment", metavar="NAME", help="with --lsl: count from this one sensor")
    return p
