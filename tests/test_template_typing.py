"""Execution type of template reps (issue 15): the variant of an exercise chosen from the whole
rep's duration and amplitude, fitted over the session (motiontrack.reps._template_typing).

Truth: reps of known tempo and amplitude (raised-cosine joint angles; the knee simulator's
fast and partial reps) and points of a known session offset.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from motiontrack.reps import Template, TemplateCounter, TemplateSettings, detect_template_reps
from motiontrack.reps import _template_typing as ty
from motiontrack.simulation import simulate_knee_session

FS = 50.0


def bump(dur: float, amp: float) -> np.ndarray:
    n = int(dur * FS)
    return amp * 0.5 * (1 - np.cos(2 * np.pi * np.arange(n) / (n - 1)))


def session(reps: list[tuple[float, float]], rest_s: float = 2.0) -> np.ndarray:
    parts = [np.zeros(int(rest_s * FS))]
    for dur, amp in reps:
        parts += [bump(dur, amp), np.zeros(int(rest_s * FS))]
    return 10.0 + np.concatenate(parts)


#: the examples: correct 4 s 60°, fast 1.6 s 60°, low amplitude 4 s 30°
EXAMPLES = {"correct": (4.0, 60.0), "fast": (1.6, 60.0), "low_amplitude": (4.0, 30.0)}


@pytest.fixture(scope="module")
def variants() -> list[Template]:
    return [Template.from_angle(session([p]), fs=FS, span=(1.5, 2.5 + p[0]), label=f"raise/{k}")
            for k, p in EXAMPLES.items()]


def test_excursion_measures_of_a_known_bump():
    # a raised cosine of D s is above half its peak for D / 2 s, from any rest before or after
    x = np.radians(session([(4.0, 60.0), (2.0, 20.0), (4.0, 60.0)], rest_s=1.0))[:, None]
    fr = FS
    # reps at 1-5 s, 6-8 s, 9-13 s; a match covering only the middle of the small one
    a, b = int(6.6 * fr), int(7.4 * fr)
    dur, amp = ty.excursion_measures(x[a - 150:b + 150], 150, 150 + b - a, fr)
    assert dur == pytest.approx(1.0, abs=2 / fr)
    assert amp == pytest.approx(math.radians(20.0), rel=0.01)  # not from a neighbour's top


def test_fit_recovers_a_session_offset():
    # the session is 30 % faster and 15 % bigger than the examples, low amplitude less marked
    c = np.log([[4.0, 1.0], [1.6, 1.0], [4.0, 0.5]])
    rng = np.random.default_rng(0)
    true = np.repeat([0, 1, 2], 8)
    x = c[true] + [math.log(0.7), math.log(1.15)] + rng.normal(0, 0.04, (true.size, 2))
    x[true == 2, 1] += 0.25  # low amplitude at 0.64 of correct, not 0.5
    fit = ty.fit_variants(x, c)
    assert fit.shift_ln_duration == pytest.approx(math.log(0.7), abs=0.06)
    assert fit.shift_ln_amplitude == pytest.approx(math.log(1.15), abs=0.06)
    assert (ty.nearest_variant(x, c, fit) == true).all()
    # without the session fit, the examples alone call the faster correct reps "fast"
    # sometimes and the bigger low-amplitude ones "correct"
    assert (ty.nearest_variant(x, c, ty.VariantFit(0.0, 0.0, 1.0)) != true).any()


def test_one_variant_alone_keeps_its_nearest_example():
    # a session of correct reps only, close to the correct example: no offset invents others
    c = np.log([[4.0, 1.0], [1.6, 1.0], [4.0, 0.5]])
    x = c[[0] * 12] + np.random.default_rng(1).normal(0, 0.05, (12, 2))
    fit = ty.fit_variants(x, c)
    assert (ty.nearest_variant(x, c, fit) == 0).all()
    assert ty.fit_variants(x[:1], c) is not None
    assert (ty.nearest_variant(x[:1], c, ty.fit_variants(x[:1], c)) == 0).all()


def test_types_of_a_faster_session(variants):
    # every rep 40 % faster and 10 % bigger than the examples: by tempo alone a correct rep
    # of 2.4 s is nearer the fast example (1.6 s) than the correct one (4 s)
    plan = [(2.4, 66.0)] * 4 + [(0.96, 66.0)] * 4 + [(2.4, 36.0)] * 4
    want = ["raise/correct"] * 4 + ["raise/fast"] * 4 + ["raise/low_amplitude"] * 4
    order = np.random.default_rng(2).permutation(len(plan))  # any order: not the protocol's
    x = session([plan[k] for k in order])
    reps = detect_template_reps(variants, fs=FS, angle_deg=x)
    assert [r.label for r in reps] == [want[k] for k in order]
    assert not any(r.provisional for r in reps)
    for r, k in zip(reps, order):  # ratios against the chosen variant's examples
        d, a = EXAMPLES[want[k].split("/")[1]]
        assert r.duration_ratio == pytest.approx(plan[k][0] / d, rel=0.1)
        assert r.amplitude_ratio == pytest.approx(plan[k][1] / a, rel=0.1)
    # live: the same reps; the labels then known are provisional, the final ones the batch's
    c = TemplateCounter(variants, fs=FS)
    live = [r for blk in np.array_split(x, 37) for r in c.update(angle_deg=blk)] + c.flush()
    assert [(r.start_s, r.end_s) for r in live] == [(r.start_s, r.end_s) for r in reps]
    assert c.reps == reps
    # the best match alone calls the faster correct reps "fast"
    by_match = detect_template_reps(variants, fs=FS, angle_deg=x,
                                    settings=TemplateSettings(typing="match"))
    assert [r.label for r in by_match].count("raise/fast") > 4


def test_typing_match_keeps_the_matched_template(variants):
    x = session([(4.0, 60.0), (1.6, 60.0), (4.0, 30.0)])
    st = TemplateSettings(typing="match")
    assert [r.label.split("/")[1] for r in detect_template_reps(variants, fs=FS, angle_deg=x,
                                                                settings=st)] == list(EXAMPLES)
    with pytest.raises(ValueError, match="typing"):
        TemplateSettings(typing="guess")


def test_simulated_knee_fast_and_partial_reps():
    """Templates from one simulated knee-extension session (a normal, a fast, a partial rep),
    counted in another subject's session (other seed and mounting) of 12 reps, 3 fast and 3
    partial at random places: every rep's type is the simulator's truth."""
    tpl = simulate_knee_session("seated_knee_extension", reps=3, seed=1, fs=FS, fast_reps=[1],
                                partial_reps=[2], body_turns=False, with_mag=False)
    sess = simulate_knee_session("seated_knee_extension", reps=12, seed=7, fs=FS,
                                 fast_reps=[2, 6, 9], partial_reps=[4, 7, 11], body_turns=False,
                                 with_mag=False)
    sh = tpl.sensors["shank"]
    names = ("correct", "fast", "low_amplitude")
    temps = [Template.from_imu({"shank": sh.gyr}, {"shank": sh.acc}, fs=FS,
                               span=(r.start_s - 0.3, r.end_s + 0.3), label=f"knee/{n}")
             for r, n in zip(tpl.truth.reps, names)]
    s = sess.sensors["shank"]
    reps = detect_template_reps(temps, fs=FS, imu={"shank": (s.gyr, s.acc)})
    truth = ["fast" if r.fast else "low_amplitude" if r.partial else "correct"
             for r in sess.truth.reps]
    assert len(reps) == len(truth)
    assert [r.label.split("/")[1] for r in reps] == truth
