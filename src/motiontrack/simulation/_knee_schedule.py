"""The time course of a simulated knee session: the rep schedule of the primary angle
(rest level, peaks, holds, pauses, partial and fast reps), the whole-body heading (turns in
some pauses), a standing start's transition into the exercise posture, and a fidgeting
still pose. Everything random here is drawn in one fixed order, so a seed gives the same
session. The model: :mod:`motiontrack.simulation.knee`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigurationError
from ._knee_spec import TrueRep, _Spec
from .profiles import Knots


@dataclass(frozen=True)
class _Schedule:
    """Profiles (deg over s) and times of one session; ``total`` s long."""

    primary: Knots  # the primary angle (knee or hip flexion)
    heading: Knots  # whole-body heading, before the sway
    blend: Knots  # standing start: 0 standing, min-jerk 0 -> 1 over the transition, then 1
    stand: Knots  # knee flexion while standing (0, or the fidget wiggles)
    reps: list[TrueRep]
    rest: float  # deg, the primary angle at rest
    span: float  # deg, nominal peak minus rest
    peak_nominal: float  # deg
    lean_deg: float  # standing start: common lean of the straight leg
    trans_t0: float  # s, standing start: the transition into the exercise posture
    trans_t1: float
    total: float  # s


@dataclass(frozen=True)
class _ScheduleOptions:
    """The options of :func:`~motiontrack.simulation.knee.simulate_knee_session` that shape
    the schedule."""

    exercise: str
    reps: int
    still_start_s: float
    still_end_s: float
    pause_s: float
    hold_s: float | None
    partial_reps: int | Sequence[int]
    fast_reps: int | Sequence[int]
    amplitude_deg: float | None
    body_turns: bool
    fidget_start: bool
    turn_deg: float | None = None
    stand_flexion_deg: float = 0.0


def _pick(indices: int | Sequence[int], reps: int, rng: np.random.Generator, name: str) -> set[int]:
    if isinstance(indices, (int, np.integer)):
        if not (0 <= indices <= reps):
            raise ConfigurationError(f"{name} must be between 0 and reps={reps}, got {indices}")
        return set(int(i) for i in rng.choice(reps, size=int(indices), replace=False))
    out = set(int(i) for i in indices)
    if any(not (0 <= i < reps) for i in out):
        raise ConfigurationError(f"{name} indices must be in [0, {reps}), got {sorted(out)}")
    return out


def _schedule(
    o: _ScheduleOptions,
    spec: _Spec,
    rng: np.random.Generator,
    rep_rng: np.random.Generator,
    body_rng: np.random.Generator,
    start_rng: np.random.Generator | None,
) -> _Schedule:
    """Draw the session's schedule: reps from ``rep_rng``, the standing start from
    ``start_rng`` (None: no standing start), the fidgets' generator from ``rng``, the
    initial heading from ``body_rng``."""
    reps = o.reps
    partial = _pick(o.partial_reps, reps, rep_rng, "partial_reps")
    fast = _pick(o.fast_reps, reps, rep_rng, "fast_reps")
    rest = rep_rng.uniform(*spec.rest_deg)
    if o.amplitude_deg is None:
        peak_nom = rep_rng.uniform(*spec.peak_deg)
    else:
        peak_nom = rest - o.amplitude_deg if spec.peak_deg[1] < spec.rest_deg[0] else rest + o.amplitude_deg
    span = peak_nom - rest
    long_gaps, turn_gaps = _gaps(reps, o.body_turns, rep_rng)
    # anatomical limits of the knee: at most 2° of hyperextension, 125° of flexion
    lo_lim, hi_lim = (-2.0, 125.0) if spec.primary == "flexion" else (-5.0, 90.0)

    kt: list[float] = [0.0]
    kv: list[float] = [rest]
    now = o.still_start_s
    # standing start: [0, still_start_s] standing, [trans_t0, trans_t1] the transition into
    # the exercise posture, then `settle_s` still in it before the first rep
    lean_deg, trans_t0, trans_t1 = 0.0, 0.0, 0.0
    if start_rng is not None:
        lean_deg = float(start_rng.uniform(-3.0, 3.0))
        dur_range = spec.transition_s or ((2.5, 4.0) if spec.supine else (1.5, 3.0))
        trans_t0 = o.still_start_s
        trans_t1 = trans_t0 + float(start_rng.uniform(*dur_range))
        now = trans_t1 + float(start_rng.uniform(1.0, 2.0))
    sk_t: list[float] = [0.0]  # knee flexion while standing (0, or the fidget wiggles), deg
    sk_v: list[float] = [o.stand_flexion_deg]
    fidget_turn = None
    if o.fidget_start:
        fidget_turn = _fidget(o.still_start_s, start_rng is not None, rest, (lo_lim, hi_lim), rng, kt, kv, sk_t, sk_v)
    turns: list[tuple[float, float, float]] = []  # (start, duration, angle)
    true_reps: list[TrueRep] = []
    level, now = _rep_knots(
        o, spec, rep_rng, rest, span, (lo_lim, hi_lim), partial, fast, long_gaps, turn_gaps,
        now, kt, kv, turns, true_reps,
    )
    total = now + o.still_end_s
    kt.append(max(total, kt[-1] + 0.05))
    kv.append(level)
    heading_profile = _heading(body_rng, ([fidget_turn] if fidget_turn else []) + turns, total)
    blend_profile = Knots.from_lists([0.0, trans_t0, trans_t1, max(total, trans_t1 + 0.05)], [0.0, 0.0, 1.0, 1.0])
    sk_t.append(max(total, sk_t[-1] + 0.05))
    sk_v.append(o.stand_flexion_deg)
    return _Schedule(
        primary=Knots.from_lists(kt, kv), heading=heading_profile, blend=blend_profile,
        stand=Knots.from_lists(sk_t, sk_v), reps=true_reps, rest=rest, span=span,
        peak_nominal=peak_nom, lean_deg=lean_deg, trans_t0=trans_t0, trans_t1=trans_t1, total=total,
    )


def _gaps(reps: int, body_turns: bool, rep_rng: np.random.Generator) -> tuple[set[int], set[int]]:
    """The gaps between reps with a long pause (4-8 s) and those with a body turn."""
    long_gaps: set[int] = set()
    turn_gaps: set[int] = set()
    if reps > 1:
        n_long = min(max(1, reps // 6), reps - 1)
        long_gaps = set(int(i) for i in rep_rng.choice(reps - 1, size=n_long, replace=False))
        if body_turns:
            n_turns = min(1 + reps // 10, reps - 1)
            turn_gaps = set(int(i) for i in rep_rng.choice(reps - 1, size=n_turns, replace=False))
    return long_gaps, turn_gaps


def _fidget(
    still_start_s: float,
    standing: bool,
    rest: float,
    limits: tuple[float, float],
    rng: np.random.Generator,
    kt: list[float],
    kv: list[float],
    sk_t: list[float],
    sk_v: list[float],
) -> tuple[float, float, float]:
    """Two 5-10° wiggles during the still pose (appended to the primary knots, or to the
    standing knots for a standing start) and a small heading change (start, duration, deg)."""
    lo_lim, hi_lim = limits
    if still_start_s < 1.5:
        raise ConfigurationError("fidget_start needs still_start_s >= 1.5")
    f_rng = np.random.default_rng(rng.integers(2**63))
    for frac in (0.2, 0.55):
        t0 = frac * still_start_s
        amp = f_rng.choice([-1.0, 1.0]) * f_rng.uniform(5.0, 10.0)
        if standing:
            # a straight knee can only flex: wiggle into flexion
            sk_t += [t0, t0 + 0.35, t0 + 0.7]
            sk_v += [0.0, abs(amp), 0.0]
            continue
        amp = float(np.clip(rest + amp, lo_lim, hi_lim) - rest)
        kt += [t0, t0 + 0.35, t0 + 0.7]
        kv += [rest, rest + amp, rest]
    return (0.1 * still_start_s, 0.6, float(f_rng.uniform(4.0, 8.0)))


def _rep_knots(
    o: _ScheduleOptions,
    spec: _Spec,
    rep_rng: np.random.Generator,
    rest: float,
    span: float,
    limits: tuple[float, float],
    partial: set[int],
    fast: set[int],
    long_gaps: set[int],
    turn_gaps: set[int],
    now: float,
    kt: list[float],
    kv: list[float],
    turns: list[tuple[float, float, float]],
    true_reps: list[TrueRep],
) -> tuple[float, float]:
    """Append every rep's knots, body turns and truth; returns the final rest level and the
    time after the last pause."""
    lo_lim, hi_lim = limits
    hold_s, pause_s, reps = o.hold_s, o.pause_s, o.reps
    level = rest
    for i in range(reps):
        is_fast = i in fast
        is_partial = i in partial
        if is_partial:
            amp = span * rep_rng.uniform(0.35, 0.6)
        else:
            amp = span * float(np.clip(rep_rng.normal(1.0, 0.05), 0.85, 1.12))
        peak = float(np.clip(rest + amp, lo_lim, hi_lim))
        if is_fast:
            up, down = rep_rng.uniform(0.4, 0.7, 2)
            hold = rep_rng.uniform(0.05, 0.2)
        else:
            up, down = rep_rng.uniform(*spec.move_s, 2)
            hold = (hold_s * rep_rng.uniform(0.7, 1.3)) if hold_s is not None else rep_rng.uniform(*spec.hold_s)
            hold = max(hold, 0.05)
        # the resting angle between reps wanders a little (the patient settles differently)
        nxt = float(np.clip(rest + rep_rng.normal(0.0, 1.0), lo_lim, hi_lim)) if i < reps - 1 else rest
        start = now
        kt += [start, start + up, start + up + hold, start + up + hold + down]
        kv += [level, peak, peak, nxt]
        end = start + up + hold + down
        lo, hi = min(level, peak, nxt), max(level, peak, nxt)
        true_reps.append(TrueRep(start, start + up + 0.5 * hold, end, lo, hi, is_partial, is_fast))
        level = nxt
        gap = pause_s * rep_rng.uniform(0.5, 1.5)
        if i in long_gaps:
            gap += rep_rng.uniform(4.0, 8.0)
        if i in turn_gaps:
            dur = rep_rng.uniform(1.5, 3.0)
            angle = rep_rng.choice([-1.0, 1.0]) * rep_rng.uniform(20.0, 120.0)
            if o.turn_deg is not None:  # (the draw above keeps the random streams as they were)
                angle = float(np.sign(angle)) * o.turn_deg
            turns.append((end + 0.5 * gap + 0.5, dur, angle))
            gap += dur + 1.0
        now = end + max(gap, 0.05)
    return level, now


def _heading(body_rng: np.random.Generator, turns: list[tuple[float, float, float]], total: float) -> Knots:
    """Whole-body heading (deg): a random start, then each turn (start, duration, angle)."""
    heading0 = body_rng.uniform(-180.0, 180.0)
    ht: list[float] = [0.0]
    hv: list[float] = [heading0]
    for start, dur, angle in turns:
        ht += [start, start + dur]
        hv += [hv[-1], hv[-1] + angle]
    ht.append(max(total, ht[-1] + 0.05))
    hv.append(hv[-1])
    return Knots.from_lists(ht, hv)
