"""The ``motiontrack`` command line.

Each sub-command lives in its own module of this package and exposes
``add_parser(subparsers) -> argparse.ArgumentParser`` and ``run(args) -> int``.
Errors that come from bad input (a missing file, a malformed recording, an unknown
sensor) print one clear line on stderr and exit non-zero: never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ..errors import MotionTrackError

#: Sub-command name -> module (imported lazily, so ``motiontrack --help`` stays fast).
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "scan": "scan",
    "stream": "stream",
    "record": "record",
    "replay": "replay",
    "analyze": "analyze",
    "calibrate": "calibrate",
    "report": "report",
    "bench": "bench",
}

#: Exit codes shared by every sub-command.
EXIT_OK = 0
EXIT_ERROR = 1  # a motiontrack error: bad input, unreadable file, sensor not found
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_INTERRUPTED = 130


def _available() -> dict[str, object]:
    mods = {}
    for name, mod in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name != f"{__name__}.{mod}":
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="motiontrack",
        description="Motion tracking for physical therapy: sensors, fusion, joint angles, reps.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, mod in _available().items():
        p = mod.add_parser(sub)  # type: ignore[attr-defined]
        p.set_defaults(_run=mod.run)  # type: ignore[attr-defined]
        del name
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args._run(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (MotionTrackError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"motiontrack {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
