"""``motiontrack analyze FILE --template T.json [...]``: reps counted by templates."""

from __future__ import annotations

import argparse

from ..template_analysis import TemplateAnalysis, analyze_templates
from ._common import print_json, write_stdout


def run(args: argparse.Namespace) -> int:
    if args.segment or args.joint or args.proximal or args.distal or args.exercise:
        raise SystemExit("motiontrack analyze: error: --template takes its sensors or joint from "
                         "the template; do not give --segment/--joint/--proximal/--distal/--exercise")
    res = analyze_templates(args.file, args.template)
    if args.json:
        print_json(res.to_dict())
    else:
        write_stdout(format_text(res) + "\n")
    return 0


def format_text(res: TemplateAnalysis) -> str:
    lines = [f"{res.source}: sensors {', '.join(res.sensors)}, {res.duration_s:.1f} s at "
             f"{res.fs_hz:.1f} Hz, templates {', '.join(repr(t) for t in res.labels)}",
             f"reps: {res.rep_count}  " + "  ".join(f"{k}: {v}" for k, v in res.counts().items())]
    if res.reps:
        lines.append(f"  {'rep':>3} {'start s':>8} {'end s':>8} {'score':>6} {'tempo':>6} "
                     f"{'ampl.':>6} {'hold s':>6}  label")
        for r in res.reps:
            lines.append(f"  {r.index + 1:>3} {r.start_s:>8.2f} {r.end_s:>8.2f} {r.score:>6.2f} "
                         f"{r.duration_ratio:>6.2f} {r.amplitude_ratio:>6.2f} {r.hold_s:>6.2f}  {r.label}")
    for w in res.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)
