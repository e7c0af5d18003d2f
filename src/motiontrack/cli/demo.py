"""``motiontrack demo``: two virtual sensors on a knee, streamed through bleak, live."""

from __future__ import annotations

import argparse
import asyncio

from ._common import print_json, write_stdout
from ._live import LiveView


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "demo",
        help="live knee angles and reps from two virtual sensors (no hardware needed)",
        description=(
            "Two virtual IMUs (thigh and shank of a simulated knee) stream over the real bleak API "
            "(Bumble's emulated controller); the session fuses, calibrates, computes the knee angle "
            "and counts reps live, then compares the reps with the simulator's ground truth. The "
            "simulated patient follows the session protocol (docs/session-protocol.md): stands "
            "still with the legs straight (0° of flexion), takes the exercise position (sits "
            "down, lies down or stays standing), keeps still a second and exercises."
        ),
    )
    p.add_argument(
        "--seconds", type=float, default=20.0, help="session length in seconds (default 20)"
    )
    p.add_argument(
        "--exercise",
        default="squat",
        choices=("seated_knee_extension", "squat", "heel_slide"),
        help="simulated exercise",
    )
    p.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)"
    )
    p.add_argument("--seed", type=int, default=0, help="simulation seed")
    p.add_argument("--record", metavar="FILE", help="also record the session to this .mtrec file")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return p


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigurationError
    from ..demo import run_demo

    if not args.seconds > 0 or not args.speed > 0:
        raise ConfigurationError("--seconds and --speed must be > 0")
    view = LiveView(quiet=args.json)
    try:
        res = asyncio.run(
            run_demo(
                seconds=args.seconds,
                exercise=args.exercise,
                speed=args.speed,
                seed=args.seed,
                on_event=view,
                record_to=args.record,
            )
        )
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
