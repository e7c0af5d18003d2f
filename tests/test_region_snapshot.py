"""Saving and restoring a body-region engine (issue 14): a session split in two at any point
(snapshot, a new engine restored from it, the rest fed to it) counts the same reps, with the
same extremes, as the uninterrupted one; a state restores only into the same preset and
sensors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motiontrack.errors import ConfigurationError
from motiontrack.exercise import ExerciseEngine
from motiontrack.simulation.regions import simulate_region_session

CASES = [  # (preset, two sensors, magnetometers): tilts and rotations, one and two sensors
    ("trunk_flexion", False, False),
    ("shoulder_abduction", True, False),
    ("cervical_rotation", True, True),
    ("shoulder_external_rotation", False, False),
]


@pytest.fixture(scope="module", params=CASES, ids=[c[0] + ("_2" if c[1] else "_1") for c in CASES])
def session(request):
    name, two, mag = request.param
    return name, simulate_region_session(name, reps=5, seed=7, proximal=two, with_mag=mag,
                                         drop_rate=0.01)


def _blocks(s, size):
    names = list(s.sensors)
    for k in range(0, s.t.size, size):
        for n in names:
            imu, sl = s.sensors[n], slice(k, k + size)
            v = imu.valid[sl]
            if v.any():
                mag = imu.mag[sl][v] if getattr(imu, "mag", None) is not None else None
                yield n, s.t[sl][v], imu.acc[sl][v], imu.gyr[sl][v], mag


def _engine(name, s):
    return ExerciseEngine({n: s.fs for n in s.sensors}, exercise=name)


def _table(reps):
    return np.array([[r.start_s, r.peak_s, r.end_s, r.min_deg, r.max_deg, r.rom_deg] for r in reps])


def _feed(eng, blocks):
    for n, t, a, g, m in blocks:
        eng.feed(n, t, a, g, m)


def test_a_split_session_counts_the_same_reps(session):
    name, s = session
    blocks = list(_blocks(s, 9))
    whole = _engine(name, s)
    _feed(whole, blocks)
    whole.finish()
    assert len(whole.final_reps()) == len(s.truth.reps)
    rng = np.random.default_rng(len(name))
    first = next(i for i, b in enumerate(blocks) if b[1][0] > s.truth.reps[0][1])
    for cut in sorted(rng.integers(first, len(blocks) - 1, size=2)):
        eng = _engine(name, s)
        _feed(eng, blocks[:cut])
        assert eng.phase == "counting"
        text = eng.snapshot()
        assert json.loads(text)["kind"] == "region" and json.loads(text)["version"] == 3
        resumed = _engine(name, s)  # as after an app restart: a new engine, the saved state
        resumed.restore(text)
        assert resumed.snapshot() == text  # everything saved is restored (the unwrapping too)
        _feed(resumed, blocks[cut:])
        resumed.finish()
        a, b = _table(resumed.final_reps()), _table(whole.final_reps())
        assert a.shape == b.shape, (cut, len(blocks))
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
        assert [r.index for r in resumed.reps] == list(range(len(whole.reps)))


def test_a_region_state_restores_only_into_the_same_preset_and_sensors():
    s = simulate_region_session("shoulder_abduction", reps=2, seed=2, proximal=True, with_mag=False)
    eng = _engine("shoulder_abduction", s)
    with pytest.raises(ConfigurationError, match="calibrated"):
        eng.snapshot()  # still calibrating: a resumed session calibrates again
    _feed(eng, _blocks(s, 50))
    text = eng.snapshot()
    with pytest.raises(ConfigurationError, match="'shoulder_abduction'.*not 'shoulder_flexion'"):
        _engine("shoulder_flexion", s).restore(text)
    one = {n: s.fs for n in list(s.sensors)[1:]}
    with pytest.raises(ConfigurationError, match="sensors"):
        ExerciseEngine(one, exercise="shoulder_abduction").restore(text)
    knee = ExerciseEngine({n: s.fs for n in s.sensors}, joint="hinge")
    with pytest.raises(ConfigurationError, match="region session"):
        knee.restore(text)
