"""The ``--web`` options of ``demo`` and ``stream`` (argparse only: parsers stay light)."""

from __future__ import annotations

import argparse


def add_web_arguments(p: argparse.ArgumentParser) -> None:
    """``--web`` (serve the live page), ``--web-host``, ``--web-port`` and ``--target``."""
    g = p.add_argument_group("live page in the browser (needs motiontrack[web])")
    g.add_argument(
        "--web",
        action="store_true",
        help="serve a live page (angle against the target zone, reps, prompts, gaps) and print "
        "its address",
    )
    g.add_argument(
        "--web-host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address to listen on (default 127.0.0.1: this computer only)",
    )
    g.add_argument(
        "--web-port", type=int, default=0, metavar="PORT", help="port (default: a free one)"
    )
    g.add_argument(
        "--target",
        type=float,
        metavar="DEG",
        help="angle to reach at each rep's turning point (default: the exercise's common goal)",
    )
