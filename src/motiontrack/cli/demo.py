"""The arguments of ``motiontrack demo`` (the command runs in :mod:`motiontrack.cli._demo`).

Light (argparse only), so that building the parser, and ``motiontrack --help``, imports
no sub-command; ``motiontrack.cli`` imports ``_demo`` only to run the command.
"""

from __future__ import annotations

import argparse
import sys

from .._kernels import _cache

from ._webargs import add_web_arguments

#: Module of this package with ``run(args) -> int``, imported only to run the command.
IMPLEMENTATION = "_demo"


#: The knee exercises the simulator moves (motiontrack.simulation.EXERCISES and the alias
#: long_arc_quad, but the straight-leg raise, counted on the hip; the standing knee bend runs
#: in 9D: its virtual sensors stream their magnetometers, motiontrack.demo.uses_magnetometer;
#: named here so that building the parser imports none).
KNEE_DEMOS = ("seated_knee_extension", "squat", "heel_slide", "short_arc_quad", "long_arc_quad",
              "sit_to_stand", "knee_wall_slide", "standing_knee_bend")
#: One exercise of each body region (motiontrack.exercise.regions.REGION_EXERCISES; named here
#: so that building the parser imports no engine).
REGION_DEMOS = ("trunk_flexion", "cervical_rotation", "shoulder_abduction",
                "standing_hip_flexion", "elbow_curl")

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
        choices=(*KNEE_DEMOS, *REGION_DEMOS),
        help="simulated exercise (knee, or one of each body region: trunk, neck, shoulder, hip, "
        "elbow)",
    )
    p.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)"
    )
    p.add_argument("--seed", type=int, default=0, help="simulation seed")
    p.add_argument("--record", metavar="FILE", help="also record the session to this .mtrec file")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    add_web_arguments(p)
    return p


def before_run(args: argparse.Namespace) -> None:
    """Say at once what a first run does, before the heavy imports (numba, bleak, scipy):
    compiling kernels, for about how long, and that it happens once; and start compiling
    (a background process, ``motiontrack.session._warm``) so that it overlaps those imports."""
    method = "vqf"  # the demo's fusion method (ExerciseSettings default)
    fg, bg = _cache.first_run_s(method)
    proc = _cache.spawn_compiler(method)
    if args.json or not (fg or bg):
        return
    if proc is None:  # MOTIONTRACK_INTERPRETED=0: compiled here, before streaming
        print(
            f"motiontrack: compiling kernels, first run only (cached for later runs): about "
            f"{fg:.0f} s before streaming, then about {bg:.0f} s more in the background during "
            "calibration (longer on a busy machine)",
            file=sys.stderr,
            flush=True,
        )
        return
    print(
        f"motiontrack: compiling kernels, first run only (cached for later runs): about {fg + bg:.0f} s "
        "in a background process (longer on a busy machine); streaming starts meanwhile, with the "
        "kernels not compiled yet running as plain Python",
        file=sys.stderr,
        flush=True,
    )
