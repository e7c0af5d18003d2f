"""The ``motiontrack`` command line.

Each sub-command has its own module of this package, which exposes
``add_parser(subparsers) -> argparse.ArgumentParser`` and either ``run(args) -> int`` or
``IMPLEMENTATION``: the name of the module of this package that holds ``run``. Such a
module (``analyze.py`` with ``_analyze.py``, ...) keeps the arguments light (argparse only)
so that building the parser, and ``motiontrack --help``, imports no sub-command; the
implementation, with its imports at the top, is imported with :func:`importlib.import_module`
only when its command runs (as the package root loads its sub-packages on first use).
Errors that come from bad input (a missing file, a malformed recording, an unknown
sensor) print one clear line on stderr and exit non-zero: never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from ..errors import MotionTrackError

#: Sub-command name -> module with its arguments.
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "scan": "scan",
    "stream": "stream",
    "record": "record",
    "replay": "replay",
    "analyze": "analyze",
    "batch": "batch",
    "export": "export",
    "calibrate": "calibrate",
    "report": "report",
    "bench": "bench",
    "template": "template",
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
    for mod in _available().values():
        p = mod.add_parser(sub)  # type: ignore[attr-defined]
        impl = getattr(mod, "IMPLEMENTATION", None)
        p.set_defaults(  # type: ignore[attr-defined]
            _run=mod.run if impl is None else _Deferred(impl, getattr(mod, "before_run", None))
        )
    return parser


class _Deferred:
    """``run`` of the implementation module ``name`` of this package, imported on the call."""

    def __init__(self, name: str, before: Callable[[argparse.Namespace], None] | None = None) -> None:
        self.name = name
        self.before = before  # runs first, before the (heavy) import: e.g. a first-run notice

    def __call__(self, args: argparse.Namespace) -> int:
        if self.before is not None:
            self.before(args)
        return importlib.import_module(f"{__name__}.{self.name}").run(args)  # type: ignore[no-any-return]


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
