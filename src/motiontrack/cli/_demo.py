"""``motiontrack demo``: two virtual sensors on a knee, streamed through bleak, live."""

from __future__ import annotations

import argparse
import asyncio

from ..demo import run_demo, uses_magnetometer
from ..errors import ConfigurationError
from ..exercise import ExerciseSettings
from ..session import _warm
from ._common import prepare_output, print_json, write_stdout
from ._live import LiveView
from ._web import demo_with_page


def run(args: argparse.Namespace) -> int:
    if not args.seconds > 0 or not args.speed > 0:
        raise ConfigurationError("--seconds and --speed must be > 0")
    if args.record:
        prepare_output(args.record, False, option="--record", flag=None)
    # first run: the streaming kernels now, with a bar (cli/demo.py said so already)
    _warm.foreground_with_progress(ExerciseSettings().fusion_method, quiet=args.json)
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
    lines = [""]
    if res.seconds > args.seconds + 0.5:
        why = (
            f"the calibration needed {res.calibrated_s:.1f} s"
            if res.calibrated_s is not None and res.calibrated_s > args.seconds
            else "no rep is cut"
        )
        lines.append(
            f"streamed {res.seconds:.1f} s of session time (asked {args.seconds:g} s: {why}; "
            "it ends at the next rest)"
        )
    if res.timed_out:
        lines.append("stopped by the wall-time limit before the demo's end: the result is incomplete")
    if res.fusion == "9D":
        lines.append("9D: the virtual sensors streamed their magnetometers (magnetometer=True): the "
                     "thigh stays still in this exercise, its heading comes from the magnetic field")
    elif uses_magnetometer(args.exercise):
        lines.append("magnetometer=True, but a sensor sent no magnetometer samples: angles are 6D")
    if res.calibrated_s is None:
        lines.append("not calibrated: no knee angles, no reps counted")
    lines += [
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
