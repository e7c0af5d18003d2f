"""Templates of several exercises at once (issue 15): with ``frame="aligned"`` each exercise's
templates are matched on the session rotated by that exercise's own re-strap fit; a rep that a
later, whole-rep match names is reported with that match's span.

Truth: simulated sessions re-strapped by known rotations (the templates cut from the same
sessions before, so the re-strap is exactly the rotation applied), and angle traces whose
reps are known sample by sample.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from motiontrack.reps import Template, TemplateCounter, TemplateSettings, detect_template_reps
from motiontrack.simulation import simulate_knee_session
from motiontrack.template_analysis import create_template, imu_grid

from test_templates import FS, bump
from test_templates_restrap import angle_deg, rotation

SEGMENTS = ["thigh", "shank"]
ALIGNED = TemplateSettings(frame="aligned")
EXERCISES = ("seated_knee_extension", "heel_slide")


def _rotated(imu: dict, Rs: dict) -> dict:
    return {k: (g @ Rs[k].T, a @ Rs[k].T) for k, (g, a) in imu.items()}


@pytest.fixture(scope="module")
def two():
    """Per exercise: a session of 6 reps and its template (rep 2), the second exercise's
    template recorded with another strapping (its session rotated by ``R_tpl``)."""
    R_tpl = {k: rotation(np.random.default_rng(11 + i)) for i, k in enumerate(SEGMENTS)}
    out = {}
    for i, ex in enumerate(EXERCISES):
        s = simulate_knee_session(ex, reps=6, seed=3 + i)
        t, fs, imu = imu_grid(s.to_recording(), SEGMENTS)
        r = s.truth.reps[1]
        src = s.to_recording()
        if i == 1:  # the template's strapping: the session's rotated by R_tpl
            rec_imu = _rotated(imu, R_tpl)
            tpl = _template_from(rec_imu, fs, (r.start_s - 0.3 - t[0], r.end_s + 0.3 - t[0]),
                                 f"{ex}/correct")
        else:
            tpl = create_template(src, span=(r.start_s - 0.3, r.end_s + 0.3), segments=SEGMENTS,
                                  label=f"{ex}/correct", settings=ALIGNED)
        out[ex] = (tpl, fs, imu, len(s.truth.reps))
    return out, R_tpl


def _template_from(imu: dict, fs: float, span: tuple[float, float], label: str) -> Template:
    from motiontrack.reps import imu_features
    t, f = imu_features([imu[k][0] for k in SEGMENTS], [imu[k][1] for k in SEGMENTS], fs=fs,
                        settings=ALIGNED)
    return Template.from_features(t, f, span=span, reps=1, label=label,
                                  source={"kind": "imu", "segments": SEGMENTS}, frame="aligned")


def _final(reps):
    """The reps without when they were reported (that depends on the blocks)."""
    return [dataclasses.replace(r, emitted_s=0.0) for r in reps]


def _count(tpls, fs, imu, block=None):
    c = TemplateCounter(tpls, fs=fs, settings=ALIGNED)
    n = next(iter(imu.values()))[0].shape[0]
    step = block or n
    for i in range(0, n, step):
        c.update(imu={k: (g[i:i + step], a[i:i + step]) for k, (g, a) in imu.items()})
    c.flush()
    return c


def test_each_exercise_recognised_with_its_own_restrap(two):
    sessions, R_tpl = two
    tpls = [sessions[ex][0] for ex in EXERCISES]
    rng = np.random.default_rng(5)
    for i, ex in enumerate(EXERCISES):
        _, fs, imu, n_true = sessions[ex]
        Rs = {k: rotation(rng) for k in SEGMENTS}  # the session re-strapped
        c = _count(tpls, fs, _rotated(imu, Rs))
        assert c.rep_count == n_true
        assert [r.label for r in c.reps] == [f"{ex}/correct"] * n_true
        m = c.mountings[ex]  # session -> that exercise's templates: undoes both re-straps
        truth = {k: (R_tpl[k] if i == 1 else np.eye(3)) @ Rs[k].T for k in SEGMENTS}
        err = [angle_deg(m.rotations[j].T @ truth[k]) for j, k in enumerate(SEGMENTS)]
        assert max(err) < 5.0, err
        assert c.mounting.exercise == ex
        # the other exercise's own fit is another rotation: one rotation cannot serve both
        other = c.mountings[EXERCISES[1 - i]]
        assert max(angle_deg(other.rotations[j].T @ truth[k])
                   for j, k in enumerate(SEGMENTS)) > 10.0


def test_several_exercises_streamed_in_blocks_give_the_same_reps(two):
    sessions, _ = two
    tpls = [sessions[ex][0] for ex in EXERCISES]
    _, fs, imu, n_true = sessions[EXERCISES[1]]
    Rs = {k: rotation(np.random.default_rng(21 + j)) for j, k in enumerate(SEGMENTS)}
    x = _rotated(imu, Rs)
    whole, blocks = _count(tpls, fs, x), _count(tpls, fs, x, block=37)
    assert _final(whole.reps) == _final(blocks.reps) and len(whole.reps) == n_true


def test_a_rep_named_by_a_later_whole_rep_match_spans_it():
    """A short example (the bump) counts the rep before the long one (bump and dip) has
    ended; the long match names the rep, so the rep's span is the whole rep (7 s), not its
    first part (2 s), the count stays, and neighbouring reps do not overlap."""
    long_rep = np.concatenate([bump(100, 60.0), -bump(250, 40.0)])

    def with_rest(x):
        return 10.0 + np.concatenate([np.zeros(100), x, np.zeros(100)])

    tpl = [Template.from_angle(with_rest(long_rep), fs=FS, span=(1.5, 9.5), label="long"),
           Template.from_angle(with_rest(bump(100, 60.0)), fs=FS, span=(1.5, 4.5), label="short")]
    x = with_rest(np.concatenate([long_rep] * 2))
    reps = detect_template_reps(tpl, fs=FS, angle_deg=x)
    assert [r.label for r in reps] == ["long", "long"]
    starts = [2.0, 9.0]  # true reps: 2-9 s and 9-16 s
    for r, s0 in zip(reps, starts):
        # (the raised cosines' first and last tenths of a second are at rest within 0.3°)
        assert abs(r.start_s - s0) < 0.6 and abs(r.end_s - (s0 + 7.0)) < 0.6, r
        assert r.duration_s > 6.0  # the short example's match alone: 2 s
        assert r.duration_s == pytest.approx(r.end_s - r.start_s + 1 / ALIGNED.feature_rate_hz)
    assert reps[0].end_s < reps[1].start_s
    # live, in blocks, the same final reps
    c = TemplateCounter(tpl, fs=FS)
    live = [r for b in np.array_split(x, 17) for r in c.update(angle_deg=b)] + c.flush()
    assert len(live) == 2 and _final(c.reps) == _final(reps)
