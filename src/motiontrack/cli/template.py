"""The arguments of ``motiontrack template`` (the command runs in :mod:`motiontrack.cli._template`).

Light (argparse only), so that building the parser imports no sub-command.
"""

from __future__ import annotations

import argparse

from ..conventions import JOINT_CHOICES

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_template"


def span(text: str) -> tuple[float, float]:
    """``START:END`` in seconds."""
    try:
        a, b = text.split(":")
        return float(a), float(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"span must be START:END in seconds, got {text!r}") from None


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "template",
        help="teach an exercise by example: make a template from a recorded span",
        description=(
            "Make a template (versioned JSON, owner-only) from example repetitions in a "
            "recording; count them later with `motiontrack analyze FILE --template T.json`."
        ),
    )
    sub = p.add_subparsers(dest="template_command", metavar="ACTION")
    sub.required = True
    c = sub.add_parser("create", help="a template from a span of a recording")
    c.add_argument("file", help="recording: .mtrec or CSV")
    c.add_argument("--span", required=True, type=span, metavar="START:END",
                   help="the example's time span, s on the file's time axis")
    c.add_argument("--reps", type=int, default=1, metavar="N",
                   help="repetitions in the span (cut automatically; default 1)")
    c.add_argument("--segment", action="append", metavar="NAME",
                   help="sensor(s) the template is made of (repeat for several)")
    c.add_argument("--joint", choices=JOINT_CHOICES, help="or: a joint angle (two sensors)")
    c.add_argument("--proximal", metavar="NAME")
    c.add_argument("--distal", metavar="NAME")
    c.add_argument("--label", help="name of the exercise or execution type")
    c.add_argument("--frame", choices=("aligned", "sensor", "invariant"), default="aligned",
                   help="IMU features: sensor frame with each session's re-strap estimated "
                        "(aligned, default), sensor frame (same mounting only), or tilt and "
                        "vertical rate (invariant)")
    c.add_argument("-o", "--output", required=True, metavar="TEMPLATE.json")
    c.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    return p
