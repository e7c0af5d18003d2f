"""Templates (issue 15): a span of several reps (``--reps N``) is cut into one example per rep.

Against the region simulator's true reps, for rotations about the vertical (whose
mounting-invariant feature is a rate: it peaks on the way out and again on the way back) and
for tilts: a span of 3 reps of a simulated session is cut into 3 pieces, each inside exactly
one true rep, and the 3-rep template counts a separate session like a one-rep template does.
"""

from __future__ import annotations

import numpy as np
import pytest

from motiontrack.reps import TemplateError
from motiontrack.reps._template import split_reps
from motiontrack.simulation.regions import simulate_region_session
from motiontrack.template_analysis import analyze_templates, create_template

#: (up, hold, down, pause) s, each varied by +-10 % (benchmarks/templates_sim.py)
REP_S = (1.6, 0.6, 1.6, 1.4)
PAD_S = 0.3

CASES = [  # (preset, with the proximal sensor)
    ("shoulder_external_rotation", False),
    ("trunk_rotation", False),
    ("cervical_rotation", True),
    ("trunk_flexion", False),
    ("shoulder_abduction", True),
]


def _session(preset: str, two: bool, reps: int, seed: int):
    return simulate_region_session(preset, reps=reps, seed=seed, proximal=two, rep_s=REP_S,
                                   rep_jitter=0.1, amplitude_jitter=0.1)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


@pytest.mark.parametrize(("preset", "two"), CASES, ids=[p for p, _ in CASES])
def test_span_of_three_reps_cut_at_the_rests(preset, two):
    s = _session(preset, two, reps=5, seed=7)
    truth = s.truth.reps
    span = (truth[1][0] - PAD_S, truth[3][1] + PAD_S)
    segs = list(s.sensors)
    three = create_template(s.to_recording(), span=span, reps=3, segments=segs, label=preset)
    cuts = three.meta["reps_s"]
    assert len(three.examples) == 3
    for i, cut in enumerate(cuts):
        # inside its own rep (up to the span's padding and the 0.1 s trim margin), and
        # covering most of it; nothing of any other rep
        own = truth[1 + i]
        assert _overlap(cut, own) > 0.8 * (own[1] - own[0]), (preset, cuts, truth)
        assert _overlap(cut, own) > (cut[1] - cut[0]) - 0.2, (preset, cuts, truth)
        assert all(_overlap(cut, r) < 0.05 for j, r in enumerate(truth) if j != 1 + i)
    # counted in a separate session like a template of one of those reps
    one = create_template(s.to_recording(), span=(truth[1][0] - PAD_S, truth[1][1] + PAD_S),
                          segments=segs, label=preset)
    sess = _session(preset, two, reps=6, seed=8).to_recording()
    n1 = analyze_templates(sess, [one]).rep_count
    n3 = analyze_templates(sess, [three]).rep_count
    assert n3 == n1 == 6, (preset, n1, n3)


def test_rate_trace_is_one_rep_per_turn():
    """Straight from features: a rate that swings out (+) and back (-) in each of 3 reps is 3
    reps, not 6 half-reps (each trimmed to its movement, 0.1 s margin)."""
    fr = 25.0
    t = np.arange(int(3 * 6.0 * fr)) / fr
    rate = np.zeros_like(t)
    for k in range(3):  # from k * 6 s + 0.5 s: out 1.5 s, hold 0.5 s, back 1.5 s, pause 2 s
        t0 = k * 6.0 + 0.5
        for a, sign in ((t0, 1.0), (t0 + 2.0, -1.0)):
            m = (t >= a) & (t < a + 1.5)
            rate[m] = sign * np.sin(np.pi * (t[m] - a) / 1.5)
    f = np.column_stack([np.zeros_like(t), 0.5 * rate])  # (inclination, rate x 0.5 s)
    cuts = split_reps(f, 3, fr, rates=[1], tau_s=0.5)
    for k, (lo, hi) in enumerate(cuts):
        assert k * 6.0 + 0.3 <= t[lo] <= k * 6.0 + 0.6 and k * 6.0 + 3.9 <= t[hi - 1] <= k * 6.0 + 4.2


def test_too_few_reps_in_the_span():
    fr = 25.0
    t = np.arange(int(8 * fr)) / fr
    f = np.column_stack([np.radians(40) * np.sin(np.pi * np.clip(t - 1, 0, 3) / 3) ** 2])
    with pytest.raises(TemplateError, match="found 1 repetition"):
        split_reps(f, 3, fr)


@pytest.mark.parametrize(("exercise", "seed"), [("squat", 2), ("seated_knee_extension", 1)])
def test_knee_span_of_three_reps(exercise, seed):
    """Knee simulator, thigh + shank (squat seed 2: the body turns between reps 3 and 4, a
    step of the integrated vertical rotation: the reps are found on the features as they are)."""
    from motiontrack.simulation import simulate_knee_session

    s = simulate_knee_session(exercise, reps=5, seed=seed)
    truth = [(r.start_s, r.end_s) for r in s.truth.reps]
    tpl = create_template(s.to_recording(), span=(truth[1][0] - PAD_S, truth[3][1] + PAD_S),
                          reps=3, segments=["thigh", "shank"], label=exercise)
    for i, cut in enumerate(tpl.meta["reps_s"]):
        own = truth[1 + i]
        assert _overlap(cut, own) > 0.8 * (own[1] - own[0]), (tpl.meta["reps_s"], truth)
        assert all(_overlap(cut, r) < 0.05 for j, r in enumerate(truth) if j != 1 + i)
