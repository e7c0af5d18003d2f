"""``motiontrack demo``: two virtual sensors on a knee, streamed through bleak, live."""

from __future__ import annotations

import argparse
import asyncio

from ..demo import run_demo
from ..errors import ConfigurationError
from ._common import prepare_output, print_json, write_stdout
from ._live import LiveView
from ._web import demo_with_page


def run(args: argparse.Namespace) -> int:
    if not args.seconds > 0 or not args.speed > 0:
        raise ConfigurationError("--seconds and --speed must be > 0")
    if args.record:
        prepare_output(args.record, False, option="--record", flag=None)
    view = LiveView(quiet=args.json)
    demo = dict(seconds=args.seconds, exercise=args.exercise, speed=args.speed, seed=args.seed,
                record_to=args.record)
    try:
        if args.web:  # the live page in the browser too, fed by the same events
            res = asyncio.run(demo_with_page(args, view, run_demo, **demo))
        else:
            res = asyncio.run(run_demo(on_event=view, **demo))
    finally:
        view.close()
    if args.json:
        print_json(res.to_dict())
        return 0
    lines = [
        "",
        (
            f"{len(res.reps)} reps counted, {len(res.truth)} in the simulator's ground truth: "
            f"{'count OK' if res.count_ok else 'COUNT MISMATCH'}"
        ),
    ]
    lines.append(
        f"  {'rep':>3} {'min deg':>8} {'max deg':>8} {'ROM deg':>8} {'true ROM':>9} {'error':>6}"
    )
    for i, r in enumerate(res.reps):
        m = res.matches[i] if i < len(res.matches) else None
        true_rom = f"{m['truth_rom_deg']:9.1f}" if m else f"{'-':>9}"
        err = f"{max(abs(m['min_error_deg']), abs(m['max_error_deg'])):6.1f}" if m else f"{'-':>6}"
        lines.append(
            f"  {i + 1:>3} {r.min_deg:8.1f} {r.max_deg:8.1f} {r.rom_deg:8.1f} {true_rom} {err}"
        )
    lines.append(
        f"largest min/max error {res.max_error_deg:.1f}° (tolerance 3°): {'OK' if res.rom_ok else 'NOT MET'}"
    )
    if res.gaps or res.dropped_events:
        lines.append(f"data gaps {res.gaps}, display updates dropped {res.dropped_events}")
    write_stdout("\n".join(lines) + "\n")
    return 0
