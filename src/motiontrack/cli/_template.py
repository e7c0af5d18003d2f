"""``motiontrack template create``: a template from a span of a recording."""

from __future__ import annotations

import argparse

from ..reps import TemplateSettings
from ..template_analysis import create_template
from ._common import print_json, write_stdout


def run(args: argparse.Namespace) -> int:
    if args.reps < 1:
        raise SystemExit("motiontrack template: error: --reps must be at least 1")
    tpl = create_template(args.file, span=args.span, reps=args.reps, segments=args.segment,
                          joint=args.joint, proximal=args.proximal, distal=args.distal,
                          label=args.label, settings=TemplateSettings(frame=args.frame))
    tpl.save(args.output)
    summary = {"output": args.output, "label": tpl.label, "source": tpl.source,
               "frame": tpl.frame, "examples": len(tpl.examples),
               "durations_s": [round(d, 3) for d in tpl.durations_s],
               "reps_s": tpl.meta.get("reps_s", [])}
    if args.json:
        print_json(summary)
    else:
        cuts = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in summary["reps_s"])
        write_stdout(f"template {tpl.label!r}: {len(tpl.examples)} example rep(s) ({cuts}) "
                     f"from {tpl.source} -> {args.output}\n")
    return 0
